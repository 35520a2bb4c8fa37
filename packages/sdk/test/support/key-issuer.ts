import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload } from 'jose'

/** A revocation entry as the feed sends it (docs/sessions.md); `type` may be one the SDK does not know. */
export type FeedEntry = { cursor: string; type: string; value: string; revoked_at: number; until: number }

/** How a fake feed answers a stream request that resumes from a cursor greater than its head. */
export type AheadCursor = 'refuse' | 'sync-at-head'

/**
 * An issuer whose keys the test holds, for the JWT checks Mandate will never fail on its own
 * (a wrong typ, a future nbf, another issuer's name) and for what the test must control exactly
 * (the JWKS's Cache-Control, a JWKS that fails, a revocation feed that misbehaves): it serves
 * RFC 8414 metadata, a JWKS that the test can add keys to and take keys from, and a revocation
 * stream (Server-Sent Events, docs/sessions.md) fed by the test. Tokens for every other test
 * come from a real Mandate server.
 */
export async function startKeyIssuer() {
  const published: JWK[] = []
  const signers = new Map<string, Awaited<ReturnType<typeof generateKeyPair>>['privateKey']>()
  const publics = new Map<string, JWK>()
  /** What the test can change: the JWKS response's Cache-Control, and a JWKS that fails. */
  const jwks = { cacheControl: undefined as string | undefined, failing: false }
  const feed = {
    entries: [] as FeedEntry[],
    head: 0,
    /** Each stream request's `since` (null when it sent none), in order. */
    connections: [] as (string | null)[],
    /** A cursor past the head: refused with 400 invalid_request (as Mandate does), or synced at the head (a server that does not check). */
    aheadCursor: 'refuse' as AheadCursor,
    /** Open streams, each with the cursor it has reached: live entries at or before it are not sent (as Mandate does). */
    open: new Map<ServerResponse, { cursor: number }>(),
  }
  let issuer = ''
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', issuer)
    if (url.pathname === '/revocations/stream') return stream(url, res)
    res.setHeader('content-type', 'application/json')
    if (url.pathname === '/.well-known/oauth-authorization-server') {
      return res.end(JSON.stringify({ issuer, token_endpoint: `${issuer}/token`, jwks_uri: `${issuer}/jwks`, mandate_revocations_stream_endpoint: `${issuer}/revocations/stream` }))
    }
    if (url.pathname === '/jwks') {
      if (jwks.failing) {
        res.statusCode = 500
        return res.end('{"error":"server_error"}')
      }
      if (jwks.cacheControl !== undefined) res.setHeader('cache-control', jwks.cacheControl)
      return res.end(JSON.stringify({ keys: published }))
    }
    res.statusCode = 404
    res.end('{}')
  })

  /** The revocation stream: the backlog after `since` (or everything), `synced`, then entries as they are appended. */
  function stream(url: URL, res: ServerResponse) {
    const since = url.searchParams.get('since')
    feed.connections.push(since)
    if (since !== null && Number(since) > feed.head) {
      if (feed.aheadCursor === 'refuse') {
        res.writeHead(400, { 'content-type': 'application/json' })
        return res.end(JSON.stringify({ error: 'invalid_request', error_description: "the cursor is ahead of this server's revocation feed" }))
      }
    }
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store' })
    const from = since === null ? 0 : Number(since)
    for (const e of feed.entries) if (Number(e.cursor) > from) res.write(event(e))
    // A server that does not check says it is caught up at its own head, behind the cursor it was
    // given; and, like Mandate before the check, it goes on from that cursor, skipping what it numbers up to it.
    const synced = since === null || Number(since) > feed.head ? feed.head : Number(since)
    res.write(`event: synced\ndata: ${JSON.stringify({ cursor: String(synced) })}\n\n`)
    feed.open.set(res, { cursor: Math.max(from, feed.head) })
    res.on('close', () => feed.open.delete(res))
  }

  const event = (e: FeedEntry) => `id: ${e.cursor}\nevent: revocation\ndata: ${JSON.stringify(e)}\n\n`

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
    jwks,
    feed,
    /** Publishes a key made earlier with newKey(false) (as a rotation would). */
    publish(kid: string) {
      published.push(publics.get(kid)!)
    },
    /** Takes a key out of the JWKS. */
    unpublish(kid: string) {
      const i = published.findIndex((k) => k.kid === kid)
      if (i >= 0) published.splice(i, 1)
    },
    /**
     * Signs an access token: RFC 9068 claims by default, overridden by `claims`; typ at+jwt unless
     * `typ` says otherwise; the key's kid in the header unless `kid` is false.
     */
    async sign(kid: string, claims: JWTPayload = {}, header: { typ?: string; kid?: boolean } = {}): Promise<string> {
      const now = Math.floor(Date.now() / 1000)
      const payload: JWTPayload = { iss: issuer, sub: 'agt_test', client_id: 'agt_test', aud: 'https://rs.example', scope: 'read write', jti: crypto.randomUUID(), iat: now, exp: now + 300, ...claims }
      const protectedHeader = header.kid === false ? { alg: 'ES256', typ: header.typ ?? 'at+jwt' } : { alg: 'ES256', kid, typ: header.typ ?? 'at+jwt' }
      return new SignJWT(payload).setProtectedHeader(protectedHeader).sign(signers.get(kid)!)
    },
    /** Appends an entry to the feed (the next cursor) and sends it to every open stream. Returns its cursor. */
    revoke(type: string, value: string, times: { revoked_at?: number; until?: number } = {}): string {
      const now = Math.floor(Date.now() / 1000)
      const entry: FeedEntry = { cursor: String(++feed.head), type, value, revoked_at: times.revoked_at ?? now, until: times.until ?? now + 300 }
      feed.entries.push(entry)
      for (const [res, at] of feed.open) {
        if (Number(entry.cursor) <= at.cursor) continue
        res.write(event(entry))
        at.cursor = Number(entry.cursor)
      }
      return entry.cursor
    },
    /**
     * The feed as a restored backup (or another server) would have it: only the entries up to
     * `head`, numbering on from there. Open streams are closed, so readers reconnect.
     */
    restoreFeed(head: number) {
      feed.entries = feed.entries.filter((e) => Number(e.cursor) <= head)
      feed.head = head
      for (const res of feed.open.keys()) res.destroy()
      feed.open.clear()
    },
    close: () =>
      new Promise<void>((r) => {
        for (const res of feed.open.keys()) res.destroy()
        server.closeAllConnections()
        server.close(() => r())
      }),
  }
}
