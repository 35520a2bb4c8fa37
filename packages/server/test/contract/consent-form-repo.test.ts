import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { availableEngines } from '../support/engines.js'
import { freshStorage } from '../support/storage.js'
import type { Storage } from '../../src/adapters/storage/sql/index.js'

const NOW = Date.UTC(2026, 11, 1)
const MIN = 60_000

for (const engine of await availableEngines()) {
  describe(`ConsentFormRepo contract on ${engine}`, () => {
    let storage: Storage
    let close: () => Promise<void>
    before(async () => {
      ;({ storage, close } = await freshStorage(engine))
    })
    after(() => close())

    test('a form is claimed once, also under concurrent claims; another form is claimed separately', async () => {
      const results = await Promise.all(Array.from({ length: 8 }, () => storage.consentForms.claim('form-a', NOW, NOW + 10 * MIN)))
      assert.equal(results.filter(Boolean).length, 1)
      assert.equal(await storage.consentForms.claim('form-a', NOW + MIN, NOW + 10 * MIN), false)
      assert.equal(await storage.consentForms.claim('form-b', NOW, NOW + 10 * MIN), true)
    })

    test('purge deletes only records kept until before the cutoff', async () => {
      assert.equal(await storage.consentForms.claim('old', NOW, NOW + MIN), true)
      assert.equal(await storage.consentForms.claim('young', NOW, NOW + 20 * MIN), true)
      assert.equal(await storage.consentForms.purge(NOW + 2 * MIN), 1)
      assert.equal(await storage.consentForms.claim('young', NOW, NOW + 20 * MIN), false, 'still answered')
      assert.equal(await storage.consentForms.claim('old', NOW, NOW + MIN), true, 'its record was deleted')
    })
  })
}
