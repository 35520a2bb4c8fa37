import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload } from 'jose'

/**
 * An issuer whose keys the test holds, for the JWT checks Mandate will never fail on its own
 * (a wrong typ, a future nbf, another issuer's name): it serves RFC 8414 metadata and a JWKS
 * that the test can add keys to. Tokens for every other test come from a real Mandate server.
 */
export async function startKeyIssuer() {
  const published: JWK[] = []
  const signers = new Map<string, Awaited<ReturnType<typeof generateKeyPair>>['privateKey']>()
  const publics = new Map<string, JWK>()
  let issuer = ''
  const server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json')
    if (req.url === '/.well-known/oauth-authorization-server') return res.end(JSON.stringify({ issuer, token_endpoint: `${issuer}/token`, jwks_uri: `${issuer}/jwks` }))
    if (req.url === '/jwks') return res.end(JSON.stringify({ keys: published }))
    res.statusCode = 404
    res.end('{}')
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  /** A new ES256 key; published in the JWKS unless `publish` is false. Returns its kid. */
  async function newKey(publish = true): Promise<string> {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true })
    const kid = `k${signers.size + 1}-${Math.random().toString(36).slice(2, 8)}`
    signers.set(kid, privateKey)
    publics.set(kid, { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' })
    if (publish) published.push(publics.get(kid)!)
    return kid
  }

  return {
    issuer,
    newKey,
    /** Publishes a key made earlier with newKey(false) (as a rotation would). */
    publish(kid: string) {
      published.push(publics.get(kid)!)
    },
    /** Signs an access token: RFC 9068 claims by default, overridden by `claims`; typ at+jwt unless `typ` says otherwise. */
    async sign(kid: string, claims: JWTPayload = {}, header: { typ?: string } = {}): Promise<string> {
      const now = Math.floor(Date.now() / 1000)
      const payload: JWTPayload = { iss: issuer, sub: 'agt_test', client_id: 'agt_test', aud: 'https://rs.example', scope: 'read write', jti: crypto.randomUUID(), iat: now, exp: now + 300, ...claims }
      return new SignJWT(payload).setProtectedHeader({ alg: 'ES256', kid, typ: header.typ ?? 'at+jwt' }).sign(signers.get(kid)!)
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  }
}
