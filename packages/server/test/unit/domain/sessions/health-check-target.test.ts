import { test } from 'node:test'
import assert from 'node:assert/strict'
import { healthCheckTarget } from '../../../../src/domain/sessions/health-check-target.js'
import { ValidationFailed } from '../../../../src/domain/errors.js'

const list = ['health.example.com', '*.workers.example.com', '10.0.0.5']

test('hosts listed exactly may be private; hosts under a wildcard may not', () => {
  assert.deepEqual(healthCheckTarget({ url: 'https://health.example.com/live' }, list), { url: 'https://health.example.com/live', allowPrivate: true })
  assert.deepEqual(healthCheckTarget({ url: 'https://a.workers.example.com/' }, list), { url: 'https://a.workers.example.com/', allowPrivate: false })
  assert.equal(healthCheckTarget({ url: 'https://A.B.Workers.Example.com:8443/h' }, list).allowPrivate, false)
  assert.equal(healthCheckTarget({ url: 'http://10.0.0.5:9000/health' }, list).allowPrivate, true)
})

test('anything else is refused with a clear reason', () => {
  const cases: [unknown, RegExp][] = [
    [{ url: 'https://evil.example.net/' }, /not on this role/],
    [{ url: 'https://workers.example.com/' }, /not on this role/],
    [{ url: 'https://xworkers.example.com/' }, /not on this role/],
    [{ url: 'https://127.0.0.1/' }, /not on this role/],
    [{ url: 'http://a.workers.example.com/' }, /must be https/],
    [{ url: 'ftp://health.example.com/' }, /must be https/],
    [{ url: 'https://user:pw@health.example.com/' }, /credentials/],
    [{ url: 'https://health.example.com/#x' }, /fragment/],
    [{ url: 'not a url' }, /not a valid/],
    [{ url: 'https://health.example.com/' + 'a'.repeat(2000) }, /at most/],
    [{ url: 42 }, /url must be/],
    [{ url: 'https://health.example.com/', method: 'POST' }, /unknown field/],
    ['https://health.example.com/', /must be an object/],
    [[], /must be an object/],
  ]
  for (const [input, why] of cases) {
    assert.throws(() => healthCheckTarget(input, list), (err: unknown) => err instanceof ValidationFailed && why.test(err.message), JSON.stringify(input))
  }
  assert.throws(() => healthCheckTarget({ url: 'https://health.example.com/' }, []), ValidationFailed)
})
