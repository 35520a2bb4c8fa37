import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { availableEngines } from '../support/engines.js'
import { startTestServer, type TestServer } from '../support/server.js'
import { auditEvents, registeredAgent } from '../support/client.js'
import { BrowserClient, createPerson } from '../support/browser-client.js'
import { grantConsent, PURPOSES } from '../support/consents.js'
import { rawSql } from '../support/db-access.js'

const CSP = "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

for (const engine of await availableEngines()) {
  describe(`account consent pages on ${engine}`, () => {
    let server: TestServer
    /** Consent ids whose withdrawal listener has finished. */
    const endedByListener = new Set<string>()
    before(async () => {
      server = await startTestServer(engine)
      // What the authorization piece registers: it must have finished before the withdrawal answers.
      server.mandate.consents.onWithdrawn(async (consent) => {
        await sleep(30)
        endedByListener.add(consent.id)
      })
    })
    after(() => server.close())

    /** A signed-in person with one consent to a named agent of a role with two purposes. */
    async function personWithConsent() {
      const person = await createPerson(server)
      const browser = new BrowserClient(server)
      const signedIn = await browser.signIn(person.username, person.password)
      assert.equal(signedIn.status, 303)
      const agent = await registeredAgent(server, { role: { scopes: ['loans:read', 'loans:write'], purposes: PURPOSES }, metadata: { client_name: 'Loan Analyzer <β>', contacts: ['ops@bank.example'] } })
      const consent = await grantConsent(server, person.id, agent.clientId, ['loans:read'])
      return { person, browser, agent, consent }
    }

    async function withdrawnAt(id: string) {
      const [row] = await rawSql(server, 'select withdrawn_at from consents where id = $1', [id])
      return row!.withdrawn_at === null ? null : Number(row!.withdrawn_at)
    }

    async function withdrawForm(browser: BrowserClient, form: Record<string, string | string[]>, headers?: Record<string, string>) {
      return browser.request('POST', '/account/consents/withdraw', { form, headers })
    }

    test('signed out, the consent pages send the browser to sign in and come back; a withdrawal changes nothing', async () => {
      const { consent } = await personWithConsent()
      const stranger = new BrowserClient(server)
      for (const [path, back] of [['/account/consents', '%2Faccount%2Fconsents'], ['/account/consents/export', '%2Faccount%2Fconsents%2Fexport']]) {
        const res = await stranger.get(path!)
        assert.equal(res.status, 303, path)
        assert.equal(res.headers.get('location'), `${server.issuer}/login?return_to=${back}`)
      }
      // A valid form token (from the sign-in page), but nobody signed in.
      const token = BrowserClient.formToken((await stranger.get('/login')).html)
      const res = await withdrawForm(stranger, { csrf_token: token, consent: consent.id })
      assert.equal(res.status, 303)
      assert.match(res.headers.get('location') ?? '', /\/login\?return_to=/)
      assert.equal(await withdrawnAt(consent.id), null)
    })

    test('the account page links to Consents; the list names the agent, role, scopes, purposes with their lawful basis, times and status', async () => {
      const { browser, consent } = await personWithConsent()
      const account = await browser.get('/account')
      assert.match(account.html, new RegExp(`<a href="${server.issuer}/account/consents">Consents</a>`))
      const page = await browser.get('/account/consents')
      assert.equal(page.status, 200)
      assert.equal(page.headers.get('content-security-policy'), CSP)
      assert.equal(page.headers.get('cache-control'), 'no-store')
      assert.ok(!/<script|\sstyle=|\son[a-z]+=/i.test(page.html), 'no script, inline style or handler')
      assert.match(page.html, /<h2 id="consent-cns_[^"]+">Loan Analyzer &lt;β&gt;<\/h2>/)
      assert.ok(page.html.includes(consent.agentId!))
      assert.ok(page.html.includes(`${consent.roleName} (version 1)`))
      assert.match(page.html, /<dt>May use<\/dt><dd>loans:read<\/dd>/)
      assert.match(page.html, /Checks your credit history when you apply for a loan \(credit-check; lawful basis: contract\)/)
      assert.match(page.html, /Deletes your data when the law requires it \(automated-deletion; lawful basis: legal obligation\)/)
      assert.ok(page.html.includes(`<time datetime="${new Date(consent.grantedAt).toISOString()}">`))
      assert.ok(page.html.includes(`<time datetime="${new Date(consent.expiresAt).toISOString()}">`))
      assert.match(page.html, /<dt>Status<\/dt><dd>Active<\/dd>/)
      assert.match(page.html, /<button type="submit" aria-describedby="consent-cns_[^"]+">Withdraw this consent<\/button>/)
      assert.equal(consent.expiresAt - consent.grantedAt, 365 * 86_400_000, 'a year by default')
      // Another person's consent is not on this person's page.
      const other = await personWithConsent()
      assert.ok(!page.html.includes(other.consent.id))
      assert.ok(!(await browser.get('/account/consents')).html.includes(other.consent.id))
    })

    test('withdrawing: 303 back to the list, withdrawn once and audited as the person, the listener done before the answer; a repeat is a no-op message', async () => {
      const { person, browser, consent } = await personWithConsent()
      const token = BrowserClient.formToken((await browser.get('/account/consents')).html)
      const res = await withdrawForm(browser, { csrf_token: token, consent: consent.id })
      assert.equal(res.status, 303, res.html)
      assert.equal(res.headers.get('location'), `${server.issuer}/account/consents?notice=withdrawn`)
      assert.ok(endedByListener.has(consent.id), 'the onWithdrawn listener finished before the answer')
      const at = await withdrawnAt(consent.id)
      assert.ok(at !== null)
      const page = await browser.get('/account/consents?notice=withdrawn')
      assert.match(page.html, /<p class="notice" role="status">Your consent is withdrawn\./)
      assert.match(page.html, /<dt>Status<\/dt><dd>Withdrawn on <time/)
      assert.ok(!page.html.includes('Withdraw this consent'), 'nothing left to withdraw')
      const again = await withdrawForm(browser, { csrf_token: token, consent: consent.id })
      assert.equal(again.status, 303)
      assert.equal(again.headers.get('location'), `${server.issuer}/account/consents?notice=already_withdrawn`)
      assert.match((await browser.get('/account/consents?notice=already_withdrawn')).html, /had already been withdrawn; nothing changed/)
      assert.equal(await withdrawnAt(consent.id), at, 'the first withdrawal time stays')
      const events = await auditEvents(server, { action: 'consent.withdrawn', target: consent.id })
      assert.equal(events.length, 1)
      assert.equal(events[0]!.actor_type, 'human')
      assert.equal(events[0]!.actor_id, person.id)
      assert.equal(events[0]!.role, consent.roleName)
      assert.deepEqual(events[0]!.details.scopes, ['loans:read'])
      assert.equal(events[0]!.details.agent, consent.agentId)
      assert.equal(events[0]!.details.text_digest, consent.textDigest)
      assert.deepEqual(events[0]!.details.purposes, PURPOSES)
      assert.equal(await server.mandate.consents.findLive({ userId: person.id, agentId: consent.agentId!, roleName: consent.roleName, scopes: ['loans:read'] }), null)
    })

    test('concurrent withdrawals of one consent withdraw it once: one "withdrawn", the rest "already withdrawn", one audit event', async () => {
      const { browser, consent } = await personWithConsent()
      const token = BrowserClient.formToken((await browser.get('/account/consents')).html)
      const results = await Promise.all(Array.from({ length: 5 }, () => withdrawForm(browser, { csrf_token: token, consent: consent.id })))
      const locations = results.map((r) => r.headers.get('location') ?? `status ${r.status}`)
      assert.equal(locations.filter((l) => l.endsWith('notice=withdrawn')).length, 1, locations.join(', '))
      assert.equal(locations.filter((l) => l.endsWith('notice=already_withdrawn')).length, 4, locations.join(', '))
      assert.equal((await auditEvents(server, { action: 'consent.withdrawn', target: consent.id })).length, 1)
    })

    test('a withdrawal without the form token, with a wrong one, or from another site is 403 and changes nothing', async () => {
      const { browser, consent } = await personWithConsent()
      const token = BrowserClient.formToken((await browser.get('/account/consents')).html)
      const attempts: Array<[string, Record<string, string>, Record<string, string> | undefined]> = [
        ['no token', { consent: consent.id }, undefined],
        ['a wrong token', { csrf_token: 'A'.repeat(43), consent: consent.id }, undefined],
        ['another site', { csrf_token: token, consent: consent.id }, { 'sec-fetch-site': 'cross-site' }],
        ['another origin', { csrf_token: token, consent: consent.id }, { origin: 'https://evil.example' }],
      ]
      for (const [what, form, headers] of attempts) {
        const res = await withdrawForm(browser, form, headers)
        assert.equal(res.status, 403, what)
        assert.match(res.html, /This form cannot be used/, what)
      }
      assert.equal(await withdrawnAt(consent.id), null)
      assert.ok(!endedByListener.has(consent.id))
      const refused = await auditEvents(server, { action: 'consent.withdrawn', outcome: 'failure' })
      assert.ok(refused.length >= 4 && refused.every((e) => e.details.check === 'csrf'))
    })

    test('another person\'s consent is 404, as is a consent that does not exist, and nothing changes', async () => {
      const mine = await personWithConsent()
      const theirs = await personWithConsent()
      const token = BrowserClient.formToken((await mine.browser.get('/account/consents')).html)
      for (const id of [theirs.consent.id, 'cns_doesnotexist']) {
        const res = await withdrawForm(mine.browser, { csrf_token: token, consent: id })
        assert.equal(res.status, 404, id)
        assert.match(res.headers.get('content-type') ?? '', /^text\/html/)
      }
      assert.equal(await withdrawnAt(theirs.consent.id), null)
      assert.equal((await auditEvents(server, { action: 'consent.withdrawn', target: theirs.consent.id, outcome: 'success' })).length, 0, 'no withdrawal recorded')
    })

    test('malformed, missing, repeated and oversized parameters are 400 (413 for a huge body) and change nothing', async () => {
      const { browser, consent } = await personWithConsent()
      const token = BrowserClient.formToken((await browser.get('/account/consents')).html)
      const forms: Array<[string, Record<string, string | string[]>, number]> = [
        ['no consent', { csrf_token: token }, 400],
        ['an empty consent', { csrf_token: token, consent: '' }, 400],
        ['a consent that is no consent id', { csrf_token: token, consent: 'agt_123' }, 400],
        ['markup in the id', { csrf_token: token, consent: 'cns_<script>' }, 400],
        ['an id of 5,000 characters', { csrf_token: token, consent: `cns_${'a'.repeat(5000)}` }, 400],
        ['the consent twice', { csrf_token: token, consent: [consent.id, consent.id] }, 400],
        ['the token twice', { csrf_token: [token, token], consent: consent.id }, 400],
        ['a body over the limit', { csrf_token: token, consent: consent.id, pad: 'x'.repeat(2 * 1024 * 1024) }, 413],
      ]
      for (const [what, form, status] of forms) {
        const res = await withdrawForm(browser, form)
        assert.equal(res.status, status, `${what}: ${res.html.slice(0, 200)}`)
        assert.match(res.headers.get('content-type') ?? '', /^text\/html/, what)
      }
      const json = await browser.request('POST', '/account/consents/withdraw', { body: JSON.stringify({ csrf_token: token, consent: consent.id }), headers: { 'content-type': 'application/json' } })
      assert.equal(json.status, 400, 'a JSON body is not a form')
      for (const query of ['?notice=hacked', '?notice=withdrawn&notice=withdrawn', '?other=1', '?notice=%ZZ']) {
        assert.equal((await browser.get(`/account/consents${query}`)).status, 400, query)
      }
      assert.equal((await browser.get('/account/consents/export?x=1')).status, 400)
      assert.equal(await withdrawnAt(consent.id), null)
    })

    test('the export is a JSON download of the person\'s receipts: snake_case, digest, purposes with lawful basis, times and status', async () => {
      const { person, browser, consent, agent } = await personWithConsent()
      // Ids sort by the millisecond they were made in.
      await sleep(3)
      const wide = await grantConsent(server, person.id, agent.clientId, ['loans:read', 'loans:write'], { roleWide: true })
      const token = BrowserClient.formToken((await browser.get('/account/consents')).html)
      await withdrawForm(browser, { csrf_token: token, consent: consent.id })
      const res = await browser.get('/account/consents/export')
      assert.equal(res.status, 200)
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/)
      assert.equal(res.headers.get('content-disposition'), 'attachment; filename="mandate-consents.json"')
      assert.equal(res.headers.get('cache-control'), 'no-store')
      const body = JSON.parse(res.html) as { issuer: string; user_id: string; consents: Array<Record<string, unknown>> }
      assert.equal(body.issuer, server.issuer)
      assert.equal(body.user_id, person.id)
      assert.deepEqual(body.consents.map((c) => c.consent_id), [consent.id, wide.id])
      const [first, second] = body.consents
      assert.deepEqual(first, {
        consent_id: consent.id, user_id: person.id, agent_id: agent.clientId, agent_name: 'Loan Analyzer <β>', role_wide: false, role: agent.role, role_version: 1,
        scopes: ['loans:read'], purposes: PURPOSES, text_digest: consent.textDigest, text_digest_algorithm: 'sha-256',
        granted_at: new Date(consent.grantedAt).toISOString(), expires_at: new Date(consent.expiresAt).toISOString(),
        withdrawn_at: first!.withdrawn_at, status: 'withdrawn',
      })
      assert.ok(!Number.isNaN(Date.parse(first!.withdrawn_at as string)))
      assert.equal(second!.status, 'active')
      assert.equal(second!.role_wide, true)
      assert.equal(second!.agent_id, null)
      assert.match(second!.text_digest as string, /^[A-Za-z0-9_-]{43}$/)
    })
  })
}
