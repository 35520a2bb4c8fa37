import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { decodeJwt } from 'jose'
import { availableEngines } from '../support/engines.js'
import { startTestServer, type TestServer } from '../support/server.js'
import { auditEvents, basic, call, form } from '../support/client.js'
import { BrowserClient } from '../support/browser-client.js'
import { rawSql } from '../support/db-access.js'
import { PURPOSES } from '../support/consents.js'
import { authorizeParams, authorizePath, codeClient, consentForm, exchangeCode, pkce, refresh, signedInPerson } from '../support/authorization.js'

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" }

/** What a person reads on a page: the text of its h1, h2, p, li and button elements, one per line. */
function wordsOn(html: string): string {
  const main = html.slice(html.indexOf('<main>'), html.indexOf('</main>'))
  return [...main.matchAll(/<(h1|h2|p|li|button)\b[^>]*>([\s\S]*?)<\/\1>/g)]
    .map((m) => m[2]!.replace(/<[^>]*>/g, '').replace(/&(amp|lt|gt|quot|#39);/g, (_, e: string) => ENTITIES[e]!).replace(/\s+/g, ' ').trim())
    .join('\n')
}

for (const engine of await availableEngines()) {
  describe(`a consent from the page to its withdrawal on ${engine}`, () => {
    let server: TestServer
    before(async () => {
      server = await startTestServer(engine)
    })
    after(() => server.close())

    test('the record keeps the digest of the words the page showed; withdrawing it at /account/consents ends the person\'s tokens at once', async () => {
      const client = await codeClient(server, { role: { purposes: PURPOSES }, metadata: { client_name: 'Loan Reader', contacts: ['dpo@bank.example'] } })
      const rs = await codeClient(server, { role: { can_introspect: true }, metadata: { grant_types: ['client_credentials'], response_types: [], redirect_uris: [] } })
      const introspect = (token: string) => call(server, 'POST', '/introspect', { headers: { authorization: basic(rs.clientId, rs.clientSecret!), 'content-type': 'application/x-www-form-urlencoded' }, body: form({ token }) })
      const { browser, person } = await signedInPerson(server)
      const { verifier, challenge } = pkce()
      const path = authorizePath(authorizeParams(client, challenge, { scope: 'openid read' }))

      const page = await browser.get(path)
      assert.equal(page.status, 200, page.html.slice(0, 300))
      const shown = wordsOn(page.html)
      assert.match(shown, /^Allow Loan Reader to act for you\?$/m)
      assert.match(shown, new RegExp(`Its client ID is ${client.clientId}\\.`))
      assert.match(shown, /set up by the administrator admin:env, under the role “[^”]+” \(version 1\)/)
      assert.match(shown, /Contact for this agent: dpo@bank\.example\./)
      assert.match(shown, /Checks your credit history when you apply for a loan \(purpose “credit-check”\)\. Legal basis: a contract with you/)
      assert.match(shown, /Your consent lasts 365 days/)

      const approved = await browser.request('POST', '/authorize/consent', { form: { ...consentForm(page), decision: 'approve' } })
      const code = new URL(approved.headers.get('location')!).searchParams.get('code')
      assert.ok(code, `a code: ${approved.status} ${approved.headers.get('location')}`)
      const tokens = (await exchangeCode(server, client, code, verifier)).body as Record<string, string>
      assert.equal((await introspect(tokens.access_token!)).body.active, true)

      const exported = JSON.parse((await browser.get('/account/consents/export')).html) as { consents: Array<Record<string, unknown>> }
      assert.equal(exported.consents.length, 1)
      const receipt = exported.consents[0]!
      assert.equal(receipt.text_digest, createHash('sha256').update(shown, 'utf8').digest('base64url'), 'the digest is of exactly the words on the page')
      assert.deepEqual(receipt.scopes, ['openid', 'read'])
      assert.deepEqual(receipt.purposes, PURPOSES)
      assert.equal(receipt.agent_id, client.clientId)
      assert.equal(receipt.status, 'active')
      const [granted] = await auditEvents(server, { action: 'consent.granted', target: String(receipt.consent_id) })
      assert.equal(granted?.actor_type, 'human')
      assert.equal(granted?.actor_id, person.id)

      const list = await browser.get('/account/consents')
      const withdrawn = await browser.request('POST', '/account/consents/withdraw', { form: { csrf_token: BrowserClient.formToken(list.html), consent: String(receipt.consent_id) } })
      assert.equal(withdrawn.status, 303)
      // Already over when the page answered: no wait, no cache lifetime.
      assert.equal((await introspect(tokens.access_token!)).body.active, false)
      const renewed = await refresh(server, client, tokens.refresh_token!)
      assert.equal(renewed.status, 400)
      assert.equal(renewed.body.error, 'invalid_grant')
      const sid = String(decodeJwt(tokens.access_token!).sid)
      assert.equal((await rawSql(server, "select value from revocation_feed where type = 'session' and value = $1", [sid])).length, 1, 'announced on the revocation stream')
      // Asked again, the person sees the consent page again.
      assert.equal((await browser.get(authorizePath(authorizeParams(client, pkce().challenge, { scope: 'openid read' })))).status, 200)
    })
  })
}
