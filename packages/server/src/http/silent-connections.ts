import type { Server } from 'node:http'
import type { Socket } from 'node:net'

/**
 * Lets shutdown close, at once, the connections that never sent a byte. Clients such as undici
 * open a connection ahead of need; Node's closeIdleConnections() skips it (it has had no
 * request), so without this it would hold shutdown for the whole grace period. A connection
 * with a request in flight, or half-sent, is left to finish.
 */
export function trackSilentConnections(server: Server): { closeSilent(): void } {
  const sockets = new Set<Socket>()
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })
  return {
    closeSilent() {
      for (const socket of sockets) if (socket.bytesRead === 0) socket.destroy()
    },
  }
}
