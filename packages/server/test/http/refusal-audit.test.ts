import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { availableEngines } from '../support/engines.js'
import { startTestServer, type TestServer } from '../support/server.js'
import { auditEvents, call, type AuditEventJson } from '../support/client.js'
import { BrowserClient } from '../support/browser-client.js'
import { grantConsent } from '../support/consents.js'
import { ManualClock } from '../../src/ports/clock.js'
import {
  authorizeAndApprove, authorizeParams, authorizePath, codeClient, exchangeCode, pkce, refresh, signedInPerson, tokensForPerson, type CodeClient,
} from '../support/authorization.js'

const STATE = 'state-never-audited-7f3a'

/** Runs `act` and returns the one event of `action` it produced (failing if it produced none or several). */
async function oneEvent(server: TestServer, action: string, act: () => Promise<unknown>): Promise<AuditEventJson> {
  const before = (await auditEvents(server, { action })).length
  await act()
  const after = await auditEvents(server, { action })
  assert.equal(after.length, before + 1, `exactly one ${action} event`)
  return after[0]!
}

function assertNoSecret(event: AuditEventJson, ...secrets: string[]) {
  const text = JSON.stringify(event)
  for (const s of secrets) assert.ok(!text.includes(s), `the audit event holds no ${s.slice(0, 12)}…`)
}

for (const engine of await availableEngines()) {
  describe(`refusals are audited on ${engine}`, () => {
    let server: TestServer
    let client: CodeClient
    before(async () => {
      server = await startTestServer(engine)
      client = await codeClient(server)
    })
    after(() => server.close())

    test('/authorize: unknown client and wrong redirect URI (pages), unsupported response_type, login_required, consent_required (redirects)', async () => {
      const { verifier, challenge } = pkce()
      const path = (extra: Record<string, string>) => authorizePath(authorizeParams(client, challenge, { state: STATE, ...extra }))
      const anonymous = new BrowserClient(server)

      const unknown = await oneEvent(server, 'authorization.refused', async () => assert.equal((await anonymous.get(path({ client_id: 'agt_nobody' }))).status, 400))
      assert.equal(unknown.outcome, 'failure')
      assert.equal(unknown.actor_type, 'anonymous')
      assert.match(unknown.reason ?? '', /^invalid_client: /)
      assert.equal(unknown.target, null)
      assert.deepEqual([unknown.details.client_id, unknown.details.redirect_uri, unknown.details.answered], ['agt_nobody', 'unchecked', 'page'])
      assert.equal(unknown.ip, '127.0.0.1')
      assertNoSecret(unknown, STATE, challenge, verifier)

      const { browser, person } = await signedInPerson(server)
      const wrongUri = await oneEvent(server, 'authorization.refused', async () => assert.equal((await browser.get(path({ redirect_uri: 'https://evil.example/cb' }))).status, 400))
      assert.deepEqual([wrongUri.actor_type, wrongUri.actor_id, wrongUri.target, wrongUri.role], ['human', person.id, client.clientId, client.role])
      assert.deepEqual([wrongUri.details.redirect_uri, wrongUri.details.error], ['invalid', 'invalid_request'])
      assertNoSecret(wrongUri, STATE, challenge, 'evil.example')

      const token = await oneEvent(server, 'authorization.refused', async () => assert.equal((await browser.get(path({ response_type: 'token' }))).status, 302))
      assert.deepEqual([token.actor_type, token.target, token.details.error, token.details.redirect_uri, token.details.answered], ['human', client.clientId, 'unsupported_response_type', 'valid', 'redirect'])
      assertNoSecret(token, STATE, challenge)

      const login = await oneEvent(server, 'authorization.refused', async () => assert.equal((await anonymous.get(path({ prompt: 'none' }))).status, 302))
      assert.deepEqual([login.actor_type, login.details.error], ['anonymous', 'login_required'])

      const consent = await oneEvent(server, 'authorization.refused', async () => assert.equal((await browser.get(path({ prompt: 'none' }))).status, 302))
      assert.deepEqual([consent.actor_type, consent.actor_id, consent.details.error], ['human', person.id, 'consent_required'])
      assertNoSecret(consent, STATE, challenge)

      // POST /authorize (OIDC Core §3.1.2.1) is audited the same way.
      const posted = await oneEvent(server, 'authorization.refused', async () => {
        const res = await anonymous.request('POST', '/authorize', { form: authorizeParams(client, challenge, { state: STATE, client_id: 'agt_posted' }) })
        assert.equal(res.status, 400)
      })
      assert.deepEqual([posted.details.client_id, posted.details.endpoint], ['agt_posted', 'POST /authorize'])
      assertNoSecret(posted, STATE, challenge)

      // HEAD answers as GET would, and its refusals are audited as GET's are.
      const head = await oneEvent(server, 'authorization.refused', async () => assert.equal((await anonymous.request('HEAD', path({ response_type: 'token' }))).status, 302))
      assert.deepEqual([head.target, head.details.error, head.details.redirect_uri, head.details.endpoint], [client.clientId, 'unsupported_response_type', 'valid', 'HEAD /authorize'])

      // A request that succeeds (the consent page) is no refusal.
      const before = (await auditEvents(server, { action: 'authorization.refused' })).length
      assert.equal((await browser.get(path({}))).status, 200)
      assert.equal((await auditEvents(server, { action: 'authorization.refused' })).length, before)
    })

    test('/token: refused people\'s refresh tokens are token.refused like refused codes', async () => {
      const { tokens } = await tokensForPerson(server, client)
      const garbage = await oneEvent(server, 'token.refused', async () => assert.equal((await refresh(server, client, 'mdg_garbage')).status, 400))
      assert.deepEqual([garbage.actor_type, garbage.actor_id, garbage.details.grant_type, garbage.details.detail], ['agent', client.clientId, 'refresh_token', 'unknown'])
      assert.match(garbage.reason ?? '', /^invalid_grant: /)
      assertNoSecret(garbage, 'mdg_garbage')

      const other = await codeClient(server)
      const stolen = await oneEvent(server, 'token.refused', async () => assert.equal((await refresh(server, other, String(tokens.refresh_token))).status, 400))
      assert.deepEqual([stolen.actor_id, stolen.details.detail], [other.clientId, 'unknown'])
      assertNoSecret(stolen, String(tokens.refresh_token))

      // The rotated-away token presented after its successor was used: reuse, the grant ends.
      const first = await refresh(server, client, String(tokens.refresh_token))
      assert.equal(first.status, 200)
      assert.equal((await refresh(server, client, String(first.body.refresh_token))).status, 200)
      const reused = await oneEvent(server, 'token.refused', async () => assert.equal((await refresh(server, client, String(tokens.refresh_token))).status, 400))
      assert.equal(reused.details.detail, 'reused')
      const ended = await oneEvent(server, 'token.refused', async () => assert.equal((await refresh(server, client, String(first.body.refresh_token))).status, 400))
      // Its grant ended with the reuse, taking its refresh tokens with it.
      assert.match(String(ended.details.detail), /^(ended|reused|unknown)$/)
    })

    test('/account/consents/withdraw: someone else\'s consent (404) and a missing or malformed id (400) are audited as the person', async () => {
      const owner = await signedInPerson(server)
      const theirs = await grantConsent(server, owner.person.id, client.clientId, ['read'])
      const { browser, person } = await signedInPerson(server)
      const token = BrowserClient.formToken((await browser.get('/account')).html)
      const withdraw = (form: Record<string, string>) => browser.request('POST', '/account/consents/withdraw', { form: { csrf_token: token, ...form } })

      const foreign = await oneEvent(server, 'consent.withdrawn', async () => assert.equal((await withdraw({ consent: theirs.id })).status, 404))
      assert.deepEqual([foreign.outcome, foreign.actor_type, foreign.actor_id, foreign.target], ['failure', 'human', person.id, theirs.id])
      assert.equal(foreign.ip, '127.0.0.1')
      const missing = await oneEvent(server, 'consent.withdrawn', async () => assert.equal((await withdraw({})).status, 400))
      assert.deepEqual([missing.outcome, missing.actor_id, missing.target, missing.reason], ['failure', person.id, null, 'no consent named'])
      const malformed = await oneEvent(server, 'consent.withdrawn', async () => assert.equal((await withdraw({ consent: 'not-a-consent-<x>' })).status, 400))
      assert.equal(malformed.reason, 'not a consent id')
      assertNoSecret(malformed, 'not-a-consent')
      // Nothing changed for the owner.
      const [row] = await auditEvents(server, { action: 'consent.withdrawn', target: theirs.id, outcome: 'success' })
      assert.equal(row, undefined)
    })

    test('an /authorize flood from one address: 429 with Retry-After past the limit, audit rows bounded, tallied per address', async () => {
      const limited = await startTestServer(engine, { env: { MANDATE_TRUST_PROXY: 'loopback', MANDATE_RATE_LIMIT_AUTHORIZE: '0.01:5' } })
      try {
        const from = (ip: string) => ({ 'x-forwarded-for': ip })
        const statuses: number[] = []
        let last: Awaited<ReturnType<typeof call>> | undefined
        for (let i = 0; i < 30; i++) {
          last = await call(limited, 'GET', `/authorize?client_id=agt_flood${i}&response_type=code`, { headers: from('203.0.113.77') })
          statuses.push(last.status)
        }
        assert.deepEqual(statuses, [...Array(5).fill(400), ...Array(25).fill(429)])
        assert.match(last!.headers.get('retry-after') ?? '', /^[1-9]\d*$/)
        assert.match(last!.headers.get('ratelimit-policy') ?? '', /^"authorize";q=5;w=\d+$/)
        // The consent form's address is the same bucket.
        assert.equal((await call(limited, 'POST', '/authorize/consent', { headers: { ...from('203.0.113.77'), 'content-type': 'application/x-www-form-urlencoded' }, body: 'decision=deny' })).status, 429)
        // Another address is not held up.
        assert.equal((await call(limited, 'GET', '/authorize?client_id=agt_other&response_type=code', { headers: from('198.51.100.9') })).status, 400)
        const refused = await auditEvents(limited, { action: 'authorization.refused' })
        assert.equal(refused.length, 6, 'one row per request under the limit, none past it')
        await limited.mandate.rateLimits.flush()
        const tallied = await auditEvents(limited, { action: 'rate_limit.exceeded' })
        assert.deepEqual(tallied.map((e) => [e.target, e.details.limit, e.details.count]), [['203.0.113.77', 'authorize', 26]])
        assert.deepEqual(tallied[0]!.details.endpoints, { 'GET /authorize': 25, 'POST /authorize/consent': 1 })
      } finally {
        await limited.close()
      }
    })
  })
}

describe('an expired code is token.refused (injected clock)', () => {
  const clock = new ManualClock(Date.now())
  let server: TestServer
  before(async () => {
    server = await startTestServer('sqlite', { clock })
  })
  after(() => server.close())

  test('a code exchanged after 60 s', async () => {
    const client = await codeClient(server)
    const { browser } = await signedInPerson(server)
    const { verifier, challenge } = pkce()
    const back = await authorizeAndApprove(browser, authorizePath(authorizeParams(client, challenge)))
    const code = back.searchParams.get('code')!
    clock.advance(66_000)
    const event = await oneEvent(server, 'token.refused', async () => assert.equal((await exchangeCode(server, client, code, verifier)).status, 400))
    assert.deepEqual([event.actor_id, event.details.grant_type, event.details.detail], [client.clientId, 'authorization_code', 'expired'])
    assertNoSecret(event, code, verifier)
  })
})
