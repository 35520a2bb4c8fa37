import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { availableEngines } from '../support/engines.js'
import { freshStorage } from '../support/storage.js'
import type { OpenDatabase, Storage } from '../../src/adapters/storage/sql/index.js'
import { publishRevocation } from '../../src/adapters/storage/sql/revocation-feed.js'

for (const engine of await availableEngines()) {
  describe(`revocation feed storage on ${engine}`, () => {
    let storage: Storage
    let database: OpenDatabase
    let close: () => Promise<void>
    before(async () => {
      ;({ storage, database, close } = await freshStorage(engine))
    })
    after(() => close())

    test('purging forgets what no longer matters but never moves the head back below a cursor handed out', async () => {
      for (const value of ['a', 'b', 'c']) {
        await database.db.transaction().execute((trx) => publishRevocation(trx, { type: 'token', value, revokedAt: 1000, until: 2000 }))
      }
      const head = await storage.revocationFeed.head()
      assert.equal((await storage.revocationFeed.since('0', 10)).length, 3)
      assert.equal(await storage.revocationFeed.purge(10_000), 2, 'all but the newest are gone')
      assert.equal(await storage.revocationFeed.head(), head)
      assert.deepEqual(await storage.revocationFeed.live(10_000, 10), [], 'the kept entry is not in force')
      await database.db.transaction().execute((trx) => publishRevocation(trx, { type: 'token', value: 'd', revokedAt: 11_000, until: 20_000 }))
      const next = await storage.revocationFeed.since(head, 10)
      assert.deepEqual(next.map((e) => e.value), ['d'])
      assert.ok(Number(next[0]!.cursor) > Number(head))
    })
  })
}
