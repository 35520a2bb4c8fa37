import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { connect, createServer } from 'node:net'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runMandate, spawnMandate } from '../support/process.js'
import { rawSql } from '../support/db-access.js'

const issuerOf = (line: string) => /issuer=(\S+)/.exec(line)![1]!

describe('mandate serve as an operator runs it', () => {
  let dir: string
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'mandate-serve-'))
  })
  after(() => rmSync(dir, { recursive: true, force: true }))

  test('first start creates the database and master key, prints the admin token once, and stops cleanly on SIGTERM', async () => {
    const env = { MANDATE_ADMIN_TOKEN: undefined, MANDATE_MASTER_KEY: undefined }
    const first = spawnMandate(['serve', '--port', '0', '--data-dir', dir], env)
    const line = await first.ready
    const issuer = issuerOf(line)
    assert.match(issuer, /^http:\/\/127\.0\.0\.1:\d+$/)
    const adminToken = /Admin token[^:]*: (\S+)/.exec(first.stdout())?.[1]
    assert.ok(adminToken?.startsWith('mdt_admin_'), 'the generated admin token is printed')
    assert.equal(statSync(join(dir, 'master.key')).mode & 0o777, 0o600)
    assert.ok(statSync(join(dir, 'mandate.db')).isFile())
    // The database, and the write-ahead log SQLite creates beside it, are the operator's alone.
    for (const f of ['mandate.db', 'mandate.db-wal']) assert.equal(statSync(join(dir, f)).mode & 0o777, 0o600, f)

    const roles = await fetch(`${issuer}/admin/roles`, { headers: { authorization: `Bearer ${adminToken}` } })
    assert.equal(roles.status, 200)
    first.child.kill('SIGTERM')
    assert.equal(await first.exited, 0)

    // Second start on the same data: no new admin token, the old one still works, same signing key.
    const second = spawnMandate(['serve', '--port', '0', '--data-dir', dir], env)
    const issuer2 = issuerOf(await second.ready)
    assert.doesNotMatch(second.stdout(), /Admin token/)
    assert.equal((await fetch(`${issuer2}/admin/roles`, { headers: { authorization: `Bearer ${adminToken}` } })).status, 200)
    second.child.kill('SIGINT')
    assert.equal(await second.exited, 0)
  })

  test('the signing key is stored encrypted, and a wrong master key is refused with one clear line', async () => {
    const keys = await rawSql({ engine: 'sqlite', db: join(dir, 'mandate.db') }, 'select kid, public_jwk, private_jwe from signing_keys')
    assert.ok(keys.length >= 1)
    for (const k of keys) {
      const jwe = k.private_jwe as string
      assert.equal(jwe.split('.').length, 5, 'private key is a compact JWE')
      assert.doesNotMatch(jwe, /"d"/)
      assert.equal('d' in JSON.parse(k.public_jwk as string), false)
    }
    const wrong = await runMandate(['serve', '--port', '0', '--data-dir', dir], { MANDATE_MASTER_KEY: Buffer.alloc(32, 1).toString('base64url') })
    assert.notEqual(wrong.code, 0)
    assert.match(wrong.stderr, /^mandate: cannot decrypt signing key \S+; is this the master key it was stored under\?/m)
  })

  test('mandate keys rotate refuses a standby published less than 70 s ago, unless --force', async () => {
    const fresh = mkdtempSync(join(tmpdir(), 'mandate-rotate-'))
    try {
      const refused = await runMandate(['keys', 'rotate', '--data-dir', fresh])
      assert.equal(refused.code, 1)
      assert.match(refused.stderr, /^mandate: the next signing key was published \d+ s ago; it signs only after 70 s/m)
      const forced = await runMandate(['keys', 'rotate', '--force', '--data-dir', fresh])
      assert.equal(forced.code, 0, forced.stderr)
      assert.match(forced.stdout, /^new signing key \S+; retired \S+$/m)
    } finally {
      rmSync(fresh, { recursive: true, force: true })
    }
  })

  test('mandate keys rotate promotes the standby key while the old key stays published', async () => {
    // --force: this data directory's keys are seconds old (see the test above).
    const rotated = await runMandate(['keys', 'rotate', '--force', '--data-dir', dir])
    assert.equal(rotated.code, 0, rotated.stderr)
    const server = spawnMandate(['serve', '--port', '0', '--data-dir', dir])
    const issuer = issuerOf(await server.ready)
    const jwks = (await (await fetch(`${issuer}/jwks`)).json()) as { keys: { kid: string }[] }
    assert.equal(jwks.keys.length, 3, 'signer, new standby, retired key')
    assert.match(rotated.stdout, new RegExp(`new signing key ${jwks.keys[0]!.kid}; retired ${jwks.keys[2]!.kid}`))
    server.child.kill('SIGTERM')
    assert.equal(await server.exited, 0)
  })

  test('SIGTERM lets a request that is in flight finish before the process exits', async () => {
    const server = spawnMandate(['serve', '--port', '0', '--data-dir', dir])
    const issuer = issuerOf(await server.ready)
    const url = new URL(`${issuer}/token`)
    const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'transfer-encoding': 'chunked' } }, (res) => {
        let body = ''
        res.on('data', (d: Buffer) => (body += d.toString()))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
      })
      req.on('error', reject)
      req.write('grant_type=client_credentials&client_id=agt_nobody')
      // The body is still arriving when the signal lands.
      setTimeout(() => server.child.kill('SIGTERM'), 100)
      setTimeout(() => req.end('&client_secret=wrong'), 400)
    })
    const res = await response
    assert.equal(res.status, 400) // invalid_client for a client that authenticated in the body
    assert.equal(JSON.parse(res.body).error, 'invalid_client')
    assert.equal(await server.exited, 0)
    const refused = await rawSql({ engine: 'sqlite', db: join(dir, 'mandate.db') }, `select count(*) as n from audit_events where action = 'token.refused'`)
    assert.equal(Number(refused[0]!.n), 1, 'the refusal was written to the audit log before exit')
  })

  test('a client that never finishes its request cannot hold up shutdown past the grace period', async () => {
    const server = spawnMandate(['serve', '--port', '0', '--data-dir', dir, '--shutdown-grace', '1'])
    const issuer = new URL(issuerOf(await server.ready))
    const socket = connect(Number(issuer.port), issuer.hostname)
    await new Promise<void>((r) => socket.once('connect', () => r()))
    socket.on('error', () => undefined)
    socket.write('POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\ngrant_type=')
    await new Promise((r) => setTimeout(r, 200))
    const signalled = Date.now()
    server.child.kill('SIGTERM')
    assert.equal(await server.exited, 0)
    assert.ok(Date.now() - signalled < 5000, `exited ${Date.now() - signalled} ms after SIGTERM`)
    socket.destroy()
  })

  test('secrets in malformed URLs and refused credentials never reach the log', async () => {
    const server = spawnMandate(['serve', '--port', '0', '--data-dir', dir, '--log-level', 'debug'])
    const issuer = issuerOf(await server.ready)
    const secret = 'mds_DoNotLogMe0123456789abcdefghijklmnopqrstu'
    await fetch(`${issuer}/register/%?x=${secret}`)
    await fetch(`${issuer}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`agt_x:${secret}`).toString('base64')}` }, body: 'grant_type=client_credentials' })
    await fetch(`${issuer}/admin/roles`, { headers: { authorization: `Bearer ${secret}` } })
    server.child.kill('SIGTERM')
    assert.equal(await server.exited, 0)
    assert.ok(server.stderr().length > 0, 'the server logged something')
    assert.equal(server.stderr().includes('DoNotLogMe'), false, server.stderr())
    assert.equal(server.stdout().includes('DoNotLogMe'), false)
  })

  test('bad configuration exits non-zero with one clear line', async () => {
    const cases: [string[], RegExp][] = [
      [['serve', '--port', 'eighty'], /port must be a number/],
      [['serve', '--port', '70000'], /port must be a number/],
      [['serve', '--issuer', 'not a url', '--data-dir', dir], /issuer "not a url" is not a URL/],
      [['serve', '--issuer', 'https://auth.example.com/?x=1', '--data-dir', dir], /issuer must not have a query/],
      [['serve', '--db', 'postgres://postgres@127.0.0.1:1/nothing', '--data-dir', dir], /cannot use PostgreSQL at 127\.0\.0\.1:1/],
      [['serve', '--db', 'mysql://localhost/db'], /unsupported database URL scheme/],
      // The parent of the database file is a regular file (the master key): no directory can be made there.
      [['serve', '--db', join(dir, 'master.key', 'mandate.db'), '--data-dir', dir], /cannot use SQLite database .*master\.key/],
      [['serve', '--frobnicate'], /Unknown option/],
      [['serve', '--shutdown-grace', 'soon'], /shutdown grace must be a whole number/],
      [['launch'], /unknown command "launch"/],
    ]
    for (const [args, message] of cases) {
      const r = await runMandate(args, { MANDATE_LOG_LEVEL: 'silent' })
      assert.notEqual(r.code, 0, args.join(' '))
      assert.match(r.stderr, message, args.join(' '))
      assert.match(r.stderr.trim().split('\n')[0]!, /^mandate: /, args.join(' '))
    }
  })

  test('a port in use is reported, not crashed on', async () => {
    const blocker = createServer()
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r))
    const port = (blocker.address() as { port: number }).port
    try {
      const r = await runMandate(['serve', '--port', String(port), '--data-dir', dir])
      assert.equal(r.code, 1)
      assert.match(r.stderr, new RegExp(`^mandate: port ${port} on 127.0.0.1 is already in use$`, 'm'))
    } finally {
      blocker.close()
    }
  })

  test('flags also come from MANDATE_* environment variables', async () => {
    const server = spawnMandate(['serve'], { MANDATE_PORT: '0', MANDATE_DATA_DIR: dir, MANDATE_ISSUER: 'https://auth.example.test' })
    assert.equal(issuerOf(await server.ready), 'https://auth.example.test')
    const listening = /listening=(\S+)/.exec(server.stdout())![1]!
    const meta = (await (await fetch(`${listening}/.well-known/oauth-authorization-server`)).json()) as { issuer: string; token_endpoint: string }
    assert.equal(meta.issuer, 'https://auth.example.test')
    assert.equal(meta.token_endpoint, 'https://auth.example.test/token')
    server.child.kill('SIGTERM')
    assert.equal(await server.exited, 0)
    assert.ok(readFileSync(join(dir, 'master.key'), 'utf8').length > 40)
  })
})
