import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { chromium, type Browser, type Page } from 'playwright-core'
import { startTestServer, type TestServer } from '../support/server.js'
import { createPerson } from '../support/browser-client.js'
import { authorizeParams, authorizePath, codeClient, exchangeCode, pkce, type CodeClient } from '../support/authorization.js'

/** Debian's chromium (`apt-get install chromium`; .ci/run installs it). */
const CHROMIUM = process.env.MANDATE_TEST_CHROMIUM ?? '/usr/bin/chromium'
const present = existsSync(CHROMIUM)
if (!present && process.env.CI === 'true') throw new Error(`Chromium is required in CI but ${CHROMIUM} does not exist`)

const RECORD_VIOLATIONS = `window.cspViolations = []; document.addEventListener('securitypolicyviolation', (e) => window.cspViolations.push(e.violatedDirective + ' ' + e.blockedURI))`

describe('a person authorizes an agent in a real browser', { skip: !present && 'Chromium is not installed' }, () => {
  let server: TestServer
  let browser: Browser
  let app: Server
  let appUrl: string
  let client: CodeClient
  const callbacks: string[] = []
  before(async () => {
    server = await startTestServer('sqlite')
    // The agent's own callback on another origin (a loopback port: RFC 8252 §7.3 allows any).
    app = createServer((req, res) => {
      callbacks.push(req.url ?? '')
      res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>app</title><h1>Back in the app</h1>')
    })
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve))
    appUrl = `http://127.0.0.1:${(app.address() as AddressInfo).port}/callback`
    client = await codeClient(server, { metadata: { redirect_uris: ['http://127.0.0.1/callback'] } })
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    })
  })
  after(async () => {
    await browser?.close()
    await new Promise((resolve) => app?.close(resolve))
    await server?.close()
  })

  async function watchedPage(): Promise<{ page: Page; console: string[] }> {
    const page = await (await browser.newContext()).newPage()
    const console: string[] = []
    page.on('console', (m) => console.push(`${m.type()}: ${m.text()}`))
    await page.addInitScript(RECORD_VIOLATIONS)
    return { page, console }
  }

  async function signIn(page: Page, person: { username: string; password: string }) {
    await page.getByLabel('Username').fill(person.username)
    await page.getByLabel('Password').fill(person.password)
    await page.getByRole('button', { name: 'Sign in' }).click()
  }

  test('sign in, read the consent page, approve: the browser lands on the agent with a code that redeems', async () => {
    const person = await createPerson(server)
    const { page, console } = await watchedPage()
    const { verifier, challenge } = pkce()
    await page.goto(server.url + authorizePath(authorizeParams(client, challenge, { redirect_uri: appUrl })))
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Sign in')
    await signIn(page, person)
    await page.waitForLoadState()
    assert.match((await page.getByRole('heading', { level: 1 }).textContent()) ?? '', /Allow Loan Reader to act for you\?/)
    assert.deepEqual(await page.evaluate('window.cspViolations'), [])
    await Promise.all([page.waitForURL((u) => u.href.startsWith(appUrl)), page.getByRole('button', { name: 'Approve' }).click()])
    const landed = new URL(page.url())
    assert.equal(landed.searchParams.get('state'), 'st-123')
    assert.equal(landed.searchParams.get('iss'), server.issuer)
    const res = await exchangeCode(server, { ...client, redirectUris: [appUrl] }, landed.searchParams.get('code')!, verifier)
    assert.equal(res.status, 200, res.text)
    assert.deepEqual(console.filter((l) => /Content Security Policy|Refused to/i.test(l)), [], console.join('\n'))
  })

  test('deny: the browser lands on the agent with access_denied', async () => {
    const person = await createPerson(server)
    const { page } = await watchedPage()
    await page.goto(server.url + authorizePath(authorizeParams(client, pkce().challenge, { redirect_uri: appUrl })))
    await signIn(page, person)
    await page.waitForLoadState()
    await Promise.all([page.waitForURL((u) => u.href.startsWith(appUrl)), page.getByRole('button', { name: 'Deny' }).click()])
    assert.equal(new URL(page.url()).searchParams.get('error'), 'access_denied')
  })

  test('with a live consent, signing in leads straight back to the agent (out of the sign-in form\'s redirect chain)', async () => {
    const person = await createPerson(server)
    const first = await watchedPage()
    await first.page.goto(server.url + authorizePath(authorizeParams(client, pkce().challenge, { redirect_uri: appUrl })))
    await signIn(first.page, person)
    await first.page.waitForLoadState()
    await Promise.all([first.page.waitForURL((u) => u.href.startsWith(appUrl)), first.page.getByRole('button', { name: 'Approve' }).click()])
    // A new browser context: signed out, consent on record.
    const { page, console } = await watchedPage()
    await page.goto(server.url + authorizePath(authorizeParams(client, pkce().challenge, { redirect_uri: appUrl, state: 'again' })))
    await Promise.all([page.waitForURL((u) => u.href.startsWith(appUrl), { timeout: 10_000 }), signIn(page, person)])
    assert.equal(new URL(page.url()).searchParams.get('state'), 'again')
    assert.ok(new URL(page.url()).searchParams.get('code'))
    assert.deepEqual(console.filter((l) => /Content Security Policy|Refused to/i.test(l)), [], console.join('\n'))
  })
})
