import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { availableEngines } from '../support/engines.js'
import { startTestServer, type TestServer } from '../support/server.js'
import { admin, auditEvents, call } from '../support/client.js'
import { rawSql } from '../support/db-access.js'

type UserJson = { id: string; username: string; display_name: string; status: string; status_reason: string | null; created_at: string; updated_at: string; generated_password?: string }

let counter = 0
const unique = (base: string) => `${base}-${process.pid}-${++counter}`

for (const engine of await availableEngines()) {
  describe(`admin users API on ${engine}`, () => {
    let server: TestServer
    before(async () => {
      server = await startTestServer(engine)
    })
    after(() => server.close())

    test('POST /admin/users creates a person with an argon2id hash that never leaves the server; the event names the admin', async () => {
      const username = unique('alice')
      const res = await admin(server, 'POST', '/users', { username, display_name: 'Alice Example', password: 'correct horse battery staple' })
      assert.equal(res.status, 201, res.text)
      const user = res.body as unknown as UserJson
      assert.match(user.id, /^usr_[A-Za-z0-9_-]+$/)
      assert.equal(user.username, username)
      assert.equal(user.display_name, 'Alice Example')
      assert.equal(user.status, 'active')
      assert.equal(res.headers.get('cache-control'), 'no-store')
      assert.ok(!('generated_password' in user), 'no password is shown when the operator chose one')
      assert.ok(!/argon2|horse/.test(res.text), 'neither the hash nor the password is in the answer')
      const [row] = await rawSql(server, 'select password_hash, username_key from users where id = $1', [user.id])
      assert.match(String(row!.password_hash), /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/)
      assert.equal(row!.username_key, username.toLowerCase())
      const got = await admin(server, 'GET', `/users/${user.id}`)
      assert.deepEqual(got.body, user)
      const [event] = await auditEvents(server, { action: 'user.created', target: user.id })
      assert.equal(event!.actor_type, 'admin')
      assert.equal(event!.actor_id, 'admin:env')
      assert.deepEqual(event!.details, { username, display_name: 'Alice Example', password: 'set' })
      const everything = JSON.stringify(await auditEvents(server, {}))
      assert.ok(!everything.includes('horse'), 'the password is in no audit event')
    })

    test('without a password one is generated and shown once', async () => {
      const username = unique('generated')
      const res = await admin(server, 'POST', '/users', { username })
      assert.equal(res.status, 201, res.text)
      const user = res.body as unknown as UserJson
      assert.match(user.generated_password ?? '', /^[A-Za-z0-9_-]{24}$/)
      assert.equal(user.display_name, username, 'the display name defaults to the username')
      const again = await admin(server, 'GET', `/users/${user.id}`)
      assert.ok(!('generated_password' in again.body))
      const [event] = await auditEvents(server, { action: 'user.created', target: user.id })
      assert.equal(event!.details.password, 'generated')
      assert.ok(!JSON.stringify(event).includes(user.generated_password!))
    })

    test('usernames are unique after NFKC normalisation and ignoring case: 409 and nothing created', async () => {
      const base = unique('bob')
      assert.equal((await admin(server, 'POST', '/users', { username: base, password: 'password-one' })).status, 201)
      const before_ = ((await admin(server, 'GET', '/users?limit=500')).body.users as unknown[]).length
      // Upper case, and fullwidth letters that NFKC folds to ASCII.
      const fullwidth = [...base.toUpperCase()].map((c) => (/[A-Z]/.test(c) ? String.fromCodePoint(c.codePointAt(0)! + 0xfee0) : c)).join('')
      for (const taken of [base.toUpperCase(), fullwidth, ` ${base} `]) {
        const res = await admin(server, 'POST', '/users', { username: taken, password: 'password-two' })
        assert.equal(res.status, 409, `${JSON.stringify(taken)}: ${res.text}`)
        assert.equal(res.body.error, 'conflict')
      }
      // Concurrent creations of one name: exactly one wins.
      const name = unique('race')
      const results = await Promise.all(Array.from({ length: 5 }, () => admin(server, 'POST', '/users', { username: name, password: 'password-race' })))
      assert.deepEqual(results.map((r) => r.status).sort(), [201, 409, 409, 409, 409])
      assert.equal(((await admin(server, 'GET', '/users?limit=500')).body.users as unknown[]).length, before_ + 1)
    })

    test('bad usernames, display names and passwords are refused with 400 invalid_request and create nobody', async () => {
      const count = async () => ((await admin(server, 'GET', '/users?limit=500')).body.users as unknown[]).length
      const before_ = await count()
      const bad: Array<[string, unknown]> = [
        ['no username', { password: 'long enough' }],
        ['an empty username', { username: '', password: 'long enough' }],
        ['a username with a space', { username: 'a b', password: 'long enough' }],
        ['a username with a no-break space', { username: 'a\u00a0b', password: 'long enough' }],
        ['a username with a line break', { username: 'a\nb', password: 'long enough' }],
        ['a username with a right-to-left override', { username: 'txt\u202eexe', password: 'long enough' }],
        ['a 255-character username', { username: 'u'.repeat(255), password: 'long enough' }],
        ['a username that is a number', { username: 42, password: 'long enough' }],
        ['a 7-character password', { username: unique('short'), password: 'seven77' }],
        ['a 257-character password', { username: unique('long'), password: 'p'.repeat(257) }],
        ['a password with a control character', { username: unique('ctl'), password: 'pass\u0007word' }],
        ['a password that is a number', { username: unique('num'), password: 12345678 }],
        ['a blank display name', { username: unique('blank'), password: 'long enough', display_name: '  ' }],
        ['a display name with a line break', { username: unique('nl'), password: 'long enough', display_name: 'Eve\n[admin] approved' }],
        ['a 201-character display name', { username: unique('dn'), password: 'long enough', display_name: 'd'.repeat(201) }],
        ['an unknown member', { username: unique('unk'), password: 'long enough', role: 'admin' }],
        ['a password_hash member', { username: unique('hash'), password_hash: '$argon2id$...' }],
      ]
      for (const [what, body] of bad) {
        const res = await admin(server, 'POST', '/users', body)
        assert.equal(res.status, 400, `${what}: ${res.text}`)
        assert.equal(res.body.error, 'invalid_request', what)
        assert.equal(typeof res.body.error_description, 'string')
      }
      assert.equal(await count(), before_)
    })

    test('passwords count characters after NFKC: 8 emoji are 8 characters, spaces and Unicode are allowed', async () => {
      for (const password of ['🦊🦊🦊🦊🦊🦊🦊🦊', 'pass word with spaces', 'пароль-пароль']) {
        const res = await admin(server, 'POST', '/users', { username: unique('unicode'), password })
        assert.equal(res.status, 201, `${password}: ${res.text}`)
      }
    })

    test('hostile display names are stored exactly and returned as JSON text', async () => {
      const display = '<script>alert(1)</script> & "quotes" \'single\' 🦊'
      const res = await admin(server, 'POST', '/users', { username: unique('hostile'), password: 'long enough', display_name: display })
      assert.equal(res.status, 201, res.text)
      assert.equal((await admin(server, 'GET', `/users/${res.body.id as string}`)).body.display_name, display)
    })

    test('list pages by cursor and filters by status; suspend and resume are audited and conditional', async () => {
      const ids: string[] = []
      for (let i = 0; i < 3; i++) ids.push((await admin(server, 'POST', '/users', { username: unique('page'), password: 'long enough' })).body.id as string)
      const first = await admin(server, 'GET', '/users?limit=2')
      assert.equal(first.status, 200)
      assert.equal((first.body.users as unknown[]).length, 2)
      assert.equal(typeof first.body.next_cursor, 'string')
      const seen = new Set<string>()
      let cursor: string | null = null
      do {
        const res = await admin(server, 'GET', `/users?limit=2${cursor ? `&cursor=${cursor}` : ''}`)
        for (const u of res.body.users as UserJson[]) seen.add(u.id)
        cursor = res.body.next_cursor as string | null
      } while (cursor)
      for (const id of ids) assert.ok(seen.has(id))

      const target = ids[0]!
      const suspended = await admin(server, 'POST', `/users/${target}/suspend`, { reason: 'left the company' })
      assert.equal(suspended.status, 200, suspended.text)
      assert.equal(suspended.body.status, 'suspended')
      assert.equal(suspended.body.status_reason, 'left the company')
      assert.equal((await admin(server, 'POST', `/users/${target}/suspend`, { reason: 'again' })).status, 409)
      const onlySuspended = (await admin(server, 'GET', '/users?status=suspended&limit=500')).body.users as UserJson[]
      assert.ok(onlySuspended.some((u) => u.id === target) && onlySuspended.every((u) => u.status === 'suspended'))
      const [event] = await auditEvents(server, { action: 'user.suspended', target })
      assert.equal(event!.actor_type, 'admin')
      assert.equal(event!.reason, 'left the company')
      const resumed = await admin(server, 'POST', `/users/${target}/resume`)
      assert.equal(resumed.status, 200)
      assert.equal(resumed.body.status, 'active')
      assert.equal(resumed.body.status_reason, null)
      assert.equal((await admin(server, 'POST', `/users/${target}/resume`)).status, 409)
      assert.equal((await auditEvents(server, { action: 'user.resumed', target })).length, 1)
    })

    test('unknown ids are 404; suspension needs a reason; the API needs the admin credential', async () => {
      for (const [method, path, body] of [
        ['GET', '/users/usr_unknown', undefined],
        ['POST', '/users/usr_unknown/suspend', { reason: 'x' }],
        ['POST', '/users/usr_unknown/resume', undefined],
      ] as const) {
        const res = await admin(server, method, path, body)
        assert.equal(res.status, 404, `${method} ${path}`)
        assert.equal(res.body.error, 'not_found')
      }
      const id = (await admin(server, 'POST', '/users', { username: unique('reason'), password: 'long enough' })).body.id as string
      assert.equal((await admin(server, 'POST', `/users/${id}/suspend`, {})).status, 400)
      assert.equal((await admin(server, 'POST', `/users/${id}/suspend`)).status, 400)
      assert.equal((await admin(server, 'GET', `/users/${id}`)).body.status, 'active')
      const anonymous = await call(server, 'POST', '/admin/users', { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: unique('nobody'), password: 'long enough' }) })
      assert.equal(anonymous.status, 401)
      assert.equal((await admin(server, 'GET', '/users?status=deleted')).status, 400)
      assert.equal((await admin(server, 'GET', '/users?cursor=agt_x')).status, 400)
    })
  })
}
