import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { Readiness } from '../../../src/domain/readiness.js'

describe('readiness', () => {
  test('ready while the database answers', async () => {
    assert.deepEqual(await new Readiness(async () => undefined).check(), { ready: true, checks: { database: 'ok', server: 'serving' } })
  })

  test('a failing query is unavailable', async () => {
    const report = await new Readiness(() => Promise.reject(new Error('ECONNREFUSED'))).check()
    assert.deepEqual(report, { ready: false, checks: { database: 'unavailable', server: 'serving' } })
  })

  test('a query that does not answer within the timeout is a timeout, without waiting for it', async () => {
    const started = Date.now()
    const report = await new Readiness(() => new Promise(() => undefined), 50).check()
    assert.deepEqual(report.checks.database, 'timeout')
    assert.equal(report.ready, false)
    assert.ok(Date.now() - started < 1000)
  })

  test('probes that arrive while a query is in flight share it', async () => {
    let pings = 0
    let answer!: () => void
    const readiness = new Readiness(() => {
      pings++
      return new Promise<void>((resolve) => (answer = resolve))
    })
    const checks = [readiness.check(), readiness.check(), readiness.check()]
    answer()
    for (const report of await Promise.all(checks)) assert.equal(report.ready, true)
    assert.equal(pings, 1)
  })

  test('once shutdown starts: not ready, and the database is not consulted', async () => {
    let pings = 0
    const readiness = new Readiness(async () => void pings++)
    readiness.shutdownStarted()
    assert.deepEqual(await readiness.check(), { ready: false, checks: { database: 'not_checked', server: 'shutting_down' } })
    assert.equal(pings, 0)
  })
})
