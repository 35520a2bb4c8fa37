import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose'
import { availableEngines } from '../support/engines.js'
import { startTestServer, type TestServer } from '../support/server.js'
import { ManualClock } from '../../src/ports/clock.js'
import { auditEvents, basic, call, form, type Reply } from '../support/client.js'
import { rawSql } from '../support/db-access.js'
import {
  authorizeAndApprove, authorizeParams, authorizePath, clientAuth, codeClient, exchangeCode, pkce, refresh, signedInPerson, tokensForPerson, type CodeClient,
} from '../support/authorization.js'

/** Introspection by a resource server (a role that may introspect). */
async function resourceServer(server: TestServer) {
  const rs = await codeClient(server, { role: { can_introspect: true }, metadata: { grant_types: ['client_credentials'], response_types: [], redirect_uris: [] } })
  return (token: string) => call(server, 'POST', '/introspect', { headers: { authorization: basic(rs.clientId, rs.clientSecret!), 'content-type': 'application/x-www-form-urlencoded' }, body: form({ token }) })
}

async function freshCode(server: TestServer, client: CodeClient, extra: Record<string, string | string[]> = {}) {
  const { browser, person } = await signedInPerson(server)
  const { verifier, challenge } = pkce()
  const back = await authorizeAndApprove(browser, authorizePath(authorizeParams(client, challenge, extra)))
  return { code: back.searchParams.get('code')!, verifier, browser, person }
}

async function grantState(server: TestServer, grantId: string): Promise<string | undefined> {
  const rows = await rawSql(server, 'select state from person_grants where id = $1', [grantId])
  return rows[0]?.state as string | undefined
}

for (const engine of await availableEngines()) {
  describe(`the authorization_code grant and people's refresh tokens on ${engine}`, () => {
    let server: TestServer
    let client: CodeClient
    let introspect: (token: string) => Promise<Reply>
    before(async () => {
      server = await startTestServer(engine)
      client = await codeClient(server)
      introspect = await resourceServer(server)
    })
    after(() => server.close())

    test('a code becomes a person\'s access token (sub the person, client_id the agent, actor_type human) and a rotating refresh token; audited', async () => {
      const { tokens, person } = await tokensForPerson(server, client)
      assert.equal(tokens.token_type, 'Bearer')
      assert.equal(tokens.scope, 'openid read')
      assert.match(String(tokens.refresh_token), /^mdg_[A-Za-z0-9_-]{43}$/)
      const claims = decodeJwt(String(tokens.access_token))
      assert.equal(claims.sub, person.id)
      assert.equal(claims.client_id, client.clientId)
      assert.equal(claims.actor_type, 'human')
      assert.match(String(claims.sid), /^grt_/)
      const info = (await introspect(String(tokens.access_token))).body
      assert.equal(info.active, true)
      assert.equal(info.sub, person.id)
      assert.equal(info.sid, claims.sid)
      const [issued] = await auditEvents(server, { action: 'token.issued', target: String(claims.jti) })
      assert.equal(issued?.details.grant_type, 'authorization_code')
      assert.equal(issued?.details.sub, person.id)
      assert.equal(issued?.details.client_id, client.clientId)
    })

    test('with openid: an ID token signed with the published keys, with the nonce as sent and auth_time of the sign-in', async () => {
      const { tokens, person } = await tokensForPerson(server, client, { scope: 'openid profile read', nonce: 'n-0S6_WzA2Mj' })
      const jwks = createRemoteJWKSet(new URL(`${server.issuer}/jwks`))
      const { payload, protectedHeader } = await jwtVerify(String(tokens.id_token), jwks, { issuer: server.issuer, audience: client.clientId })
      assert.equal(protectedHeader.typ, 'JWT')
      assert.equal(payload.sub, person.id)
      assert.equal(payload.nonce, 'n-0S6_WzA2Mj')
      assert.equal(typeof payload.auth_time, 'number')
      assert.ok((payload.auth_time as number) <= (payload.iat as number))
      assert.equal(payload.preferred_username, person.username)
      const withoutOpenid = await tokensForPerson(server, client, { scope: 'read' })
      assert.equal(withoutOpenid.tokens.id_token, undefined)
    })

    describe('PKCE verifiers (RFC 7636 §4.1): refused, and the code stays unused', () => {
      for (const [what, verifier, error] of [
        ['42 characters', 'a'.repeat(42), 'invalid_request'],
        ['129 characters', 'a'.repeat(129), 'invalid_request'],
        ['a +', `${'a'.repeat(42)}+`, 'invalid_request'],
        ['a /', `${'a'.repeat(42)}/`, 'invalid_request'],
        ['an =', `${'a'.repeat(42)}=`, 'invalid_request'],
        ['a well-formed wrong verifier', 'b'.repeat(43), 'invalid_grant'],
        ['none at all', undefined, 'invalid_request'],
      ] as const) {
        test(`${what} → ${error}`, async () => {
          const { code, verifier: good } = await freshCode(server, client)
          const res = await exchangeCode(server, client, code, verifier)
          assert.equal(res.status, 400, res.text)
          assert.equal(res.body.error, error)
          assert.equal((await exchangeCode(server, client, code, good)).status, 200, 'the code still works with the right verifier')
        })
      }
      test('43 and 128 characters of the whole alphabet are accepted', async () => {
        for (const verifier of ['A-._~'.repeat(8) + 'abc', 'Zz09-._~'.repeat(16)]) {
          const { createHash } = await import('node:crypto')
          const challenge = createHash('sha256').update(verifier).digest('base64url')
          const { browser } = await signedInPerson(server)
          const back = await authorizeAndApprove(browser, authorizePath(authorizeParams(client, challenge)))
          const res = await exchangeCode(server, client, back.searchParams.get('code')!, verifier)
          assert.equal(res.status, 200, `${verifier.length}: ${res.text}`)
        }
      })
    })

    test('redirect_uri at /token must be the one in the request (RFC 6749 §4.1.3)', async () => {
      const { code, verifier } = await freshCode(server, client)
      // A trailing slash, another path, and none at all (the request named one, so /token must too).
      for (const redirect_uri of ['https://app.example.com/callback/', 'https://app.example.com/other', '']) {
        const res = await exchangeCode(server, client, code, verifier, { redirect_uri })
        assert.equal(res.status, 400)
        assert.equal(res.body.error, 'invalid_grant', redirect_uri)
      }
      assert.equal((await exchangeCode(server, client, code, verifier)).status, 200)
    })

    test('missing, duplicated and oversized parameters at /token are refused and change nothing', async () => {
      const { code, verifier } = await freshCode(server, client)
      const send = (params: Record<string, string | string[]>) => call(server, 'POST', '/token', clientAuth(client, params))
      const base = { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: client.redirectUris[0]! }
      assert.equal((await send({ ...base, code: '' })).body.error, 'invalid_request')
      assert.equal((await send({ ...base, code: [code, code] })).body.error, 'invalid_request')
      assert.equal((await send({ ...base, code_verifier: [verifier, verifier] })).body.error, 'invalid_request')
      assert.equal((await send({ ...base, code: 'mdc_' + 'x'.repeat(5000) })).body.error, 'invalid_grant')
      assert.equal((await send({ ...base, code_verifier: 'v'.repeat(5000) })).body.error, 'invalid_request')
      assert.equal((await send({ ...base, redirect_uri: [base.redirect_uri, base.redirect_uri] })).body.error, 'invalid_request')
      assert.equal((await send(base)).status, 200)
    })

    test('another client cannot redeem the code, and its attempt does not burn it', async () => {
      const other = await codeClient(server)
      const { code, verifier } = await freshCode(server, client)
      const res = await exchangeCode(server, other, code, verifier)
      assert.equal(res.body.error, 'invalid_grant')
      assert.equal((await exchangeCode(server, client, code, verifier)).status, 200)
    })

    test('a replayed code is refused and what it issued is revoked: refresh family ended, access token inactive; audited', async () => {
      const { code, verifier } = await freshCode(server, client)
      const first = await exchangeCode(server, client, code, verifier)
      assert.equal(first.status, 200)
      const access = String(first.body.access_token)
      const sid = String(decodeJwt(access).sid)
      assert.equal((await introspect(access)).body.active, true)
      const again = await exchangeCode(server, client, code, verifier)
      assert.equal(again.status, 400)
      assert.equal(again.body.error, 'invalid_grant')
      assert.equal((await introspect(access)).body.active, false)
      assert.equal((await refresh(server, client, String(first.body.refresh_token))).body.error, 'invalid_grant')
      assert.equal(await grantState(server, sid), 'ended')
      const [replayed] = await auditEvents(server, { action: 'authorization.code_replayed' })
      assert.equal(replayed?.details.grant, sid)
      const [ended] = await auditEvents(server, { action: 'grant.ended', target: sid })
      assert.equal(ended?.reason, 'authorization_code_replayed')
      const feed = await rawSql(server, "select value from revocation_feed where type = 'session' and value = $1", [sid])
      assert.equal(feed.length, 1, 'resource servers hear of it on the revocation stream')
    })

    test('concurrent redemptions of one code: exactly one wins', async () => {
      const { code, verifier } = await freshCode(server, client)
      const results = await Promise.all(Array.from({ length: 6 }, () => exchangeCode(server, client, code, verifier)))
      assert.equal(results.filter((r) => r.status === 200).length, 1)
      assert.ok(results.filter((r) => r.status !== 200).every((r) => r.body.error === 'invalid_grant'))
    })

    test('refresh: rotation, the same successor within the window, omitted scope keeps, narrower allowed, wider invalid_scope', async () => {
      const { tokens } = await tokensForPerson(server, client, { scope: 'openid read write' })
      const r1 = String(tokens.refresh_token)
      const wider = await refresh(server, client, r1, { scope: 'read admin' })
      assert.equal(wider.body.error, 'invalid_scope')
      const first = await refresh(server, client, r1)
      assert.equal(first.status, 200, first.text)
      assert.equal(first.body.scope, 'openid read write')
      const r2 = String(first.body.refresh_token)
      assert.notEqual(r2, r1)
      const retry = await refresh(server, client, r1)
      assert.equal(retry.status, 200, 'a retry within the window is answered')
      assert.equal(retry.body.refresh_token, r2, 'with the same successor')
      const narrower = await refresh(server, client, r2, { scope: 'read' })
      assert.equal(narrower.status, 200)
      assert.equal(narrower.body.scope, 'read')
      const r3 = String(narrower.body.refresh_token)
      const after = await refresh(server, client, r3)
      assert.equal(after.body.scope, 'openid read write', 'a narrowed refresh does not narrow the grant')
      // An older token (r1, two rotations back): the whole family is revoked.
      const reused = await refresh(server, client, r1)
      assert.equal(reused.body.error, 'invalid_grant')
      assert.equal((await refresh(server, client, String(after.body.refresh_token))).body.error, 'invalid_grant')
      assert.equal((await introspect(String(after.body.access_token))).body.active, false)
    })

    test('parallel refreshes of one token: all answered with one successor, and the grant lives on', async () => {
      const { tokens } = await tokensForPerson(server, client)
      const results = await Promise.all(Array.from({ length: 8 }, () => refresh(server, client, String(tokens.refresh_token))))
      assert.deepEqual(results.map((r) => r.status), Array(8).fill(200), results.map((r) => r.text).join('\n'))
      const successors = new Set(results.map((r) => r.body.refresh_token))
      assert.equal(successors.size, 1)
      const next = await refresh(server, client, String([...successors][0]))
      assert.equal(next.status, 200)
    })

    test('a refresh after the consent was withdrawn is invalid_grant, and the access token is dead at once', async () => {
      const { tokens, person } = await tokensForPerson(server, client)
      const access = String(tokens.access_token)
      const sid = String(decodeJwt(access).sid)
      const [consent] = await rawSql(server, 'select consent_id from person_grants where id = $1', [sid])
      await server.mandate.consents.withdraw(person.id, String(consent!.consent_id), { actorType: 'human', actorId: person.id, ip: null, requestId: null })
      assert.equal((await introspect(access)).body.active, false)
      const res = await refresh(server, client, String(tokens.refresh_token))
      assert.equal(res.status, 400)
      assert.equal(res.body.error, 'invalid_grant')
      const [ended] = await auditEvents(server, { action: 'grant.ended', target: sid })
      assert.equal(ended?.reason, 'consent_withdrawn')
    })

    test('revoking a person\'s refresh token (RFC 7009) ends the grant', async () => {
      const { tokens } = await tokensForPerson(server, client)
      const res = await call(server, 'POST', '/revoke', clientAuth(client, { token: String(tokens.refresh_token) }))
      assert.equal(res.status, 200)
      assert.equal((await introspect(String(tokens.access_token))).body.active, false)
      assert.equal((await refresh(server, client, String(tokens.refresh_token))).body.error, 'invalid_grant')
    })

    test('a public client (token_endpoint_auth_method none) runs the flow with PKCE and no secret', async () => {
      const pub = await codeClient(server, { metadata: { token_endpoint_auth_method: 'none' } })
      assert.equal(pub.clientSecret, undefined, 'no secret is issued to a public client')
      const { tokens } = await tokensForPerson(server, pub)
      const next = await refresh(server, pub, String(tokens.refresh_token))
      assert.equal(next.status, 200, next.text)
      // A public client cannot use client_credentials, and a confidential one cannot skip its secret.
      const cc = await call(server, 'POST', '/token', { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form({ grant_type: 'client_credentials', client_id: pub.clientId }) })
      assert.equal(cc.status, 400)
      const noSecret = await call(server, 'POST', '/token', { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form({ grant_type: 'refresh_token', client_id: client.clientId, refresh_token: 'mdg_x' }) })
      assert.equal(noSecret.status, 401)
      assert.equal(noSecret.body.error, 'invalid_client')
    })
  })
}

describe('codes and refresh windows on the injected clock', () => {
  let server: TestServer
  let client: CodeClient
  const clock = new ManualClock(Date.now())
  before(async () => {
    server = await startTestServer('sqlite', { clock })
    client = await codeClient(server)
  })
  after(() => server.close())

  test('a code lives 60 seconds', async () => {
    const { code, verifier } = await freshCode(server, client)
    clock.advance(60_001)
    const res = await exchangeCode(server, client, code, verifier)
    assert.equal(res.status, 400)
    assert.equal(res.body.error, 'invalid_grant')
    const fresh = await freshCode(server, client)
    clock.advance(59_000)
    assert.equal((await exchangeCode(server, client, fresh.code, fresh.verifier)).status, 200)
  })

  test('the parent re-presented after the 30 s window revokes the whole family', async () => {
    const { tokens } = await tokensForPerson(server, client)
    const r1 = String(tokens.refresh_token)
    const first = await refresh(server, client, r1)
    assert.equal(first.status, 200)
    clock.advance(29_000)
    assert.equal((await refresh(server, client, r1)).body.refresh_token, first.body.refresh_token, 'still within the window')
    clock.advance(2_000)
    const late = await refresh(server, client, r1)
    assert.equal(late.body.error, 'invalid_grant')
    assert.equal((await refresh(server, client, String(first.body.refresh_token))).body.error, 'invalid_grant', 'the successor died with the family')
    const [ended] = await auditEvents(server, { action: 'grant.ended', target: String(decodeJwt(String(first.body.access_token)).sid) })
    assert.equal(ended?.reason, 'refresh_token_reused')
  })
})
