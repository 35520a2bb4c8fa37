import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { chromium, type Browser } from 'playwright-core'
import { startTestServer, type TestServer } from '../support/server.js'
import { createPerson } from '../support/browser-client.js'
import { deviceAgent, poll, startDevice } from '../support/device.js'

/** Debian's chromium (`apt-get install chromium`; .ci/run installs it). */
const CHROMIUM = process.env.MANDATE_TEST_CHROMIUM ?? '/usr/bin/chromium'
const present = existsSync(CHROMIUM)
if (!present && process.env.CI === 'true') throw new Error(`Chromium is required in CI but ${CHROMIUM} does not exist`)

// A string: this package is type-checked without the DOM library.
const RECORD_VIOLATIONS = `window.cspViolations = []; document.addEventListener('securitypolicyviolation', (e) => window.cspViolations.push(e.violatedDirective + ' ' + e.blockedURI))`

describe('a person approves a device in a real browser', { skip: !present && 'Chromium is not installed' }, () => {
  let server: TestServer
  let browser: Browser
  before(async () => {
    server = await startTestServer('sqlite')
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    })
  })
  after(async () => {
    await browser?.close()
    await server?.close()
  })

  test('the link leads through sign-in to the pre-filled code, the consent page and approval, under the CSP; the device then gets tokens', async () => {
    const agent = await deviceAgent(server, { metadata: { client_name: 'Lobby kiosk' } })
    const person = await createPerson(server)
    const started = await startDevice(server, agent, { scope: 'read' })
    const page = await browser.newPage()
    const console: string[] = []
    page.on('console', (m) => console.push(`${m.type()}: ${m.text()}`))
    await page.addInitScript(RECORD_VIOLATIONS)

    await page.goto(started.verification_uri_complete.replace(server.issuer, server.url))
    await page.getByLabel('Username').fill(person.username)
    await page.getByLabel('Password').fill(person.password)
    await Promise.all([page.waitForURL(/\/device\?user_code=/), page.getByRole('button', { name: 'Sign in' }).click()])
    assert.equal(await page.getByLabel('Code').inputValue(), started.user_code, 'pre-filled from the link')

    await page.getByRole('button', { name: 'Continue' }).click()
    await page.waitForLoadState()
    assert.match((await page.getByRole('heading', { level: 1 }).textContent()) ?? '', /Lobby kiosk/)
    await page.getByRole('button', { name: 'Approve' }).click()
    await page.waitForLoadState()
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Device connected')

    assert.deepEqual(await page.evaluate('window.cspViolations'), [])
    assert.deepEqual(console.filter((l) => /Content Security Policy|Refused to/i.test(l)), [], console.join('\n'))
    await page.close()

    const tokens = await poll(server, agent, started.device_code)
    assert.equal(tokens.status, 200, tokens.text)
    assert.equal(tokens.body.scope, 'read')
  })
})
