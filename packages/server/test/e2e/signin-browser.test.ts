import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { chromium, type Browser, type Page } from 'playwright-core'
import { startTestServer, type TestServer } from '../support/server.js'
import { createPerson } from '../support/browser-client.js'
import { auditEvents, registeredAgent } from '../support/client.js'
import { grantConsent, PURPOSES } from '../support/consents.js'

/** Debian's chromium (`apt-get install chromium`; .ci/run installs it). Playwright's own browsers cannot be downloaded here. */
const CHROMIUM = process.env.MANDATE_TEST_CHROMIUM ?? '/usr/bin/chromium'
const present = existsSync(CHROMIUM)
if (!present && process.env.CI === 'true') throw new Error(`Chromium is required in CI but ${CHROMIUM} does not exist`)
if (!present) process.stderr.write(`warning: ${CHROMIUM} not found; skipping the browser test (apt-get install chromium)\n`)

// Scripts for the page are strings: this package is type-checked without the DOM library.
const RECORD_VIOLATIONS = `window.cspViolations = []; document.addEventListener('securitypolicyviolation', (e) => window.cspViolations.push(e.violatedDirective + ' ' + e.blockedURI))`

describe('a person signs in with a real browser', { skip: !present && 'Chromium is not installed' }, () => {
  let server: TestServer
  let browser: Browser
  before(async () => {
    server = await startTestServer('sqlite')
    // As root (CI) Chromium needs --no-sandbox; the rest keep it from calling out of a closed network.
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    })
  })
  after(async () => {
    await browser?.close()
    await server?.close()
  })

  /** A page that records every CSP violation and console message. */
  async function watchedPage(): Promise<{ page: Page; console: string[] }> {
    const page = await browser.newPage()
    const console: string[] = []
    page.on('console', (m) => console.push(`${m.type()}: ${m.text()}`))
    page.on('pageerror', (e) => console.push(`pageerror: ${e.message}`))
    // Init scripts run through the DevTools protocol, outside the page's CSP.
    await page.addInitScript(RECORD_VIOLATIONS)
    return { page, console }
  }

  test('through the form to the account page and out again, with the headers and CSP holding and no violation', async () => {
    const person = await createPerson(server, { display_name: 'Browser <Person>' })
    const { page, console } = await watchedPage()
    const response = await page.goto(`${server.url}/login`)
    assert.equal(response?.status(), 200)
    const headers = response!.headers()
    assert.match(headers['content-security-policy'] ?? '', /frame-ancestors 'none'/)
    assert.equal(headers['x-frame-options'], 'DENY')
    assert.equal(headers['cache-control'], 'no-store')
    // The stylesheet loaded under style-src 'self' (main is 28rem wide at most).
    assert.equal(await page.evaluate(`getComputedStyle(document.querySelector('main')).maxWidth`), '448px')

    // Labels are tied to their inputs: fill by label, as assistive technology finds them.
    await page.getByLabel('Username').fill(person.username)
    await page.getByLabel('Password').fill('not the password')
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.waitForLoadState()
    assert.equal(await page.getByRole('alert').textContent(), 'The username or password is not right.')
    assert.equal(await page.getByLabel('Username').inputValue(), person.username)

    await page.getByLabel('Password').fill(person.password)
    await Promise.all([page.waitForURL(`${server.url}/account`), page.getByRole('button', { name: 'Sign in' }).click()])
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Your account')
    assert.ok((await page.content()).includes('Browser &lt;Person&gt;'))
    const cookies = await page.context().cookies()
    const session = cookies.find((c) => c.name === 'mandate-session')
    assert.equal(session?.httpOnly, true)
    assert.equal(session?.sameSite, 'Lax')
    assert.equal(await page.evaluate('document.cookie'), '', 'no cookie is readable by script')

    await Promise.all([page.waitForURL(`${server.url}/login`), page.getByRole('button', { name: 'Sign out' }).click()])
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Sign in')
    const [signout] = await auditEvents(server, { action: 'user.signout', actor: person.id })
    assert.equal(signout?.actor_type, 'human')

    assert.deepEqual(await page.evaluate('window.cspViolations'), [])
    assert.deepEqual(console.filter((l) => /Content Security Policy|Refused to/i.test(l)), [], console.join('\n'))
    await page.close()
  })

  test('a person finds their consent from the account page and withdraws it with the button', async () => {
    const person = await createPerson(server)
    const agent = await registeredAgent(server, { role: { scopes: ['loans:read'], purposes: PURPOSES }, metadata: { client_name: 'Browser Agent' } })
    const consent = await grantConsent(server, person.id, agent.clientId, ['loans:read'])
    const { page, console } = await watchedPage()
    await page.goto(`${server.url}/login?return_to=%2Faccount`)
    await page.getByLabel('Username').fill(person.username)
    await page.getByLabel('Password').fill(person.password)
    await Promise.all([page.waitForURL(`${server.url}/account`), page.getByRole('button', { name: 'Sign in' }).click()])
    await Promise.all([page.waitForURL(`${server.url}/account/consents`), page.getByRole('link', { name: 'Consents' }).click()])
    assert.equal(await page.getByRole('heading', { level: 2 }).textContent(), 'Browser Agent')
    // The button is described by the agent's heading, so a screen reader says which consent it withdraws.
    const withdraw = page.getByRole('button', { name: 'Withdraw this consent' })
    assert.equal(await withdraw.getAttribute('aria-describedby'), `consent-${consent.id}`)
    await Promise.all([page.waitForURL(`${server.url}/account/consents?notice=withdrawn`), withdraw.click()])
    assert.match((await page.getByRole('status').textContent()) ?? '', /Your consent is withdrawn/)
    assert.equal(await page.getByRole('button', { name: 'Withdraw this consent' }).count(), 0)
    const [event] = await auditEvents(server, { action: 'consent.withdrawn', target: consent.id })
    assert.equal(event?.actor_type, 'human')
    assert.deepEqual(await page.evaluate('window.cspViolations'), [])
    assert.deepEqual(console.filter((l) => /Content Security Policy|Refused to/i.test(l)), [], console.join('\n'))
    await page.close()
  })

  test('another site cannot frame the sign-in page', async () => {
    const { page, console } = await watchedPage()
    await page.goto('about:blank')
    await page.setContent(`<iframe id="f" src="${server.url}/login"></iframe>`)
    await page.waitForTimeout(500)
    const frame = page.frames().find((f) => f !== page.mainFrame())
    const hasForm = frame === undefined ? false : await frame.locator('form').count().then((n) => n > 0, () => false)
    assert.equal(hasForm, false, 'the form is not shown inside a frame')
    // Chromium replaces a frame refused by frame-ancestors / X-Frame-Options with its error page.
    assert.match(frame?.url() ?? '', /^chrome-error:/, `frame: ${frame?.url()}; console: ${console.join(' | ')}`)
    await page.close()
  })
})
