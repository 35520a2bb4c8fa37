import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { redisChangeNotifier } from '../../src/adapters/cluster/redis-change-notifier.js'
import type { Change } from '../../src/ports/change-notifier.js'
import { requireRedis } from '../support/redis.js'

const until = async (check: () => boolean, timeoutMs: number, what: string) => {
  const start = Date.now()
  while (!check()) {
    if (Date.now() - start > timeoutMs) assert.fail(`${what} did not happen within ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

const redisUrl = await requireRedis()
if (redisUrl) {
  describe('cluster changes over Redis pub/sub', () => {
    test('a change published on one node reaches the others of the same prefix, not itself and not another deployment', async () => {
      const prefix = `mandate-test-${randomBytes(4).toString('hex')}:`
      const make = (node: string, p = prefix) => redisChangeNotifier({ url: redisUrl, prefix: p, node, onError: () => undefined })
      const [a, b, other] = [make('a'), make('b'), make('c', `${prefix}other:`)]
      const heard = { a: [] as Change[], b: [] as Change[], other: [] as Change[] }
      a.subscribe((c) => heard.a.push(c))
      b.subscribe((c) => heard.b.push(c))
      other.subscribe((c) => heard.other.push(c))
      try {
        await until(() => {
          a.publish({ kind: 'keys' })
          return heard.b.length > 0
        }, 5000, 'b listening')
        heard.b.length = 0
        a.publish({ kind: 'agent', id: 'agt_1' })
        await until(() => heard.b.some((c) => c.kind === 'agent'), 1000, 'b hearing the change')
        assert.deepEqual(heard.b.filter((c) => c.kind !== 'keys'), [{ kind: 'agent', id: 'agt_1' }])
        assert.deepEqual(heard.a, [])
        assert.deepEqual(heard.other, [])
      } finally {
        await Promise.all([a.close(), b.close(), other.close()])
      }
    })
  })
}
