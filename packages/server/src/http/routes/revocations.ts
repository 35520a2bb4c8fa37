import type { ServerResponse } from 'node:http'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { RevocationEntry } from '../../ports/revocation-feed.js'
import { parseFeedCursor, requireCursorWithin, requireFeedReader, revocationJson } from '../../protocol/revocation-feed.js'
import { TooManyRequests } from '../../protocol/errors.js'
import type { EdgeRateLimits } from '../rate-limit.js'
import { readQuery } from '../request-readers.js'
import type { HttpServices } from '../services.js'
import { parseLimit } from './admin-agents.js'
import { noStore } from './token.js'

const PAGE = 1000
const KEEPALIVE_MS = 15_000
// A reader this far behind is cut off; it reconnects and catches up from its cursor.
const MAX_BUFFERED_BYTES = 1 << 20
// A resource server needs one stream per process; more from one credential on one node is a leak or a flood.
const MAX_STREAMS_PER_READER = 16

/** What resource servers hear of revocations: by polling, or as Server-Sent Events. */
export function revocationRoutes(app: FastifyInstance, s: HttpServices, limits: EdgeRateLimits): void {
  const reader = async (request: FastifyRequest, reply: FastifyReply) => {
    // GET carries no body, so Basic is the one method (RFC 6749 §2.3.1).
    const caller = await limits.clientsFor(request, reply).authenticate(request.headers.authorization, new Map(), { anyMethod: true })
    requireFeedReader(caller)
    return caller
  }
  /** Without a cursor, a reader starts with everything still in force. */
  const page = (cursor: string | undefined, limit: number) => (cursor === undefined ? s.revocationFeed.live(s.clock.now(), limit) : s.revocationFeed.since(cursor, limit))

  app.get('/revocations', async (request, reply) => {
    const q = readQuery(request, ['since', 'limit'])
    await reader(request, reply)
    const since = parseFeedCursor(q.get('since'))
    const limit = parseLimit(q.get('limit'), PAGE, PAGE)
    const head = await s.revocationFeed.head()
    requireCursorWithin(since, head)
    const entries = await page(since, limit)
    const next = entries.length > 0 ? entries[entries.length - 1]!.cursor : (since ?? head)
    return noStore(reply).send({ revocations: entries.map(revocationJson), next_cursor: next })
  })

  const open = new Set<ServerResponse>()
  const streamsOf = new Map<string, number>()
  app.addHook('preClose', async () => {
    // End each stream and close its connection: a reader that stopped reading (an aborted fetch
    // keeps its socket) would otherwise hold shutdown for the whole grace period. Readers reconnect.
    for (const res of open) res.end(() => res.socket?.destroy())
  })

  app.get('/revocations/stream', { config: { streaming: true } }, async (request, reply) => {
    const q = readQuery(request, ['since'])
    const caller = await reader(request, reply)
    // RFC 9110 §9.3.2: HEAD answers with the headers a GET would get, and no stream.
    if (request.method === 'HEAD') return noStore(reply).type('text/event-stream; charset=utf-8').send()
    const lastEventId = request.headers['last-event-id']
    // The EventSource reconnect header wins over the URL the client was first given.
    let cursor = parseFeedCursor(typeof lastEventId === 'string' && lastEventId !== '' ? lastEventId : q.get('since'))
    const readerId = caller.agent.id
    const streams = streamsOf.get(readerId) ?? 0
    if (streams >= MAX_STREAMS_PER_READER) throw new TooManyRequests(`at most ${MAX_STREAMS_PER_READER} revocation streams per resource server credential on one node; close one first`, 15)
    // Counted from here, before anything is awaited, so concurrent opens cannot slip past the limit.
    streamsOf.set(readerId, streams + 1)
    const release = () => {
      const left = (streamsOf.get(readerId) ?? 1) - 1
      if (left > 0) streamsOf.set(readerId, left)
      else streamsOf.delete(readerId)
    }
    let syncing = true
    const pending: RevocationEntry[] = []
    const res = reply.raw
    const send = (entries: readonly RevocationEntry[]) => {
      for (const e of entries) {
        // Entries arrive from the backlog and from the live poller; each is sent once, in order.
        if (cursor !== undefined && Number(e.cursor) <= Number(cursor)) continue
        res.write(`id: ${e.cursor}\nevent: revocation\ndata: ${JSON.stringify(revocationJson(e))}\n\n`)
        cursor = e.cursor
      }
      if (res.writableLength > MAX_BUFFERED_BYTES) res.destroy()
    }
    // Subscribed before the backlog is read, so nothing committed in between is missed.
    const unsubscribe = await s.revocations.subscribe((entries) => (syncing ? pending.push(...entries) : send(entries))).catch((err: unknown) => {
      release()
      throw err
    })
    let first: RevocationEntry[]
    // Starting without a cursor: whatever the backlog holds, the stream is then past this point
    // (older entries not in the backlog were no longer in force).
    let floor: string | undefined
    try {
      const head = await s.revocationFeed.head()
      requireCursorWithin(cursor, head)
      if (cursor === undefined) floor = head
      first = await page(cursor, PAGE)
    } catch (err) {
      unsubscribe()
      release()
      throw err
    }
    reply.hijack()
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
      'x-request-id': request.id,
      'x-content-type-options': 'nosniff',
    })
    open.add(res)
    const keepalive = setInterval(() => res.write(': ping\n\n'), KEEPALIVE_MS)
    keepalive.unref()
    const socket = request.raw.socket
    res.on('close', () => {
      clearInterval(keepalive)
      unsubscribe()
      open.delete(res)
      release()
      // A stream's connection is never reused: a reader that went away (an aborted fetch can
      // leave its socket open) must not hold the connection, or shutdown, any longer.
      socket.destroy()
    })
    try {
      for (let batch = first; ; batch = await s.revocationFeed.since(cursor ?? '0', PAGE)) {
        send(batch)
        if (batch.length < PAGE) break
      }
      if (floor !== undefined && (cursor === undefined || Number(cursor) < Number(floor))) cursor = floor
      send(pending.splice(0))
      syncing = false
      res.write(`event: synced\ndata: ${JSON.stringify({ cursor })}\n\n`)
    } catch (err) {
      // Headers are sent: the stream just ends, and the client resumes from its last id.
      request.log.warn({ err }, 'revocation stream failed while catching up')
      res.destroy()
    }
  })
}
