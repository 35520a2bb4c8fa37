/** A test's view of a Server-Sent Events stream: events as they arrive, and a way to wait for one. */
export interface SseEvent {
  id: string | undefined
  event: string
  data: string
}

export interface SseClient {
  status: number
  headers: Headers
  events: SseEvent[]
  /** Resolves with the first event (already received or still to come) that matches. */
  waitFor(match: (e: SseEvent) => boolean, timeoutMs?: number): Promise<SseEvent>
  close(): void
}

/** Opens a stream with fetch and splits it into events (enough of the WHATWG format for tests). */
export async function openSse(url: string, headers: Record<string, string>): Promise<SseClient> {
  const abort = new AbortController()
  const res = await fetch(url, { headers, signal: abort.signal })
  const events: SseEvent[] = []
  const waiters: { match: (e: SseEvent) => boolean; resolve: (e: SseEvent) => void }[] = []
  const push = (e: SseEvent) => {
    events.push(e)
    for (const w of [...waiters]) if (w.match(e)) {
      waiters.splice(waiters.indexOf(w), 1)
      w.resolve(e)
    }
  }
  if (res.ok && res.body) {
    void (async () => {
      const decoder = new TextDecoder()
      let buffer = ''
      try {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          buffer += decoder.decode(chunk, { stream: true })
          let end: number
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end)
            buffer = buffer.slice(end + 2)
            const e: SseEvent = { id: undefined, event: 'message', data: '' }
            const data: string[] = []
            for (const line of block.split('\n')) {
              if (line.startsWith(':')) continue
              const [field, ...rest] = line.split(':')
              const value = rest.join(':').replace(/^ /, '')
              if (field === 'id') e.id = value
              else if (field === 'event') e.event = value
              else if (field === 'data') data.push(value)
            }
            if (data.length > 0) push({ ...e, data: data.join('\n') })
          }
        }
      } catch {
        // aborted
      }
    })()
  }
  return {
    status: res.status,
    headers: res.headers,
    events,
    waitFor(match, timeoutMs = 3000) {
      const hit = events.find(match)
      if (hit) return Promise.resolve(hit)
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no matching event within ${timeoutMs} ms; got ${JSON.stringify(events)}`)), timeoutMs)
        waiters.push({ match, resolve: (e) => (clearTimeout(timer), resolve(e)) })
      })
    },
    close: () => abort.abort(),
  }
}
