import { after, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnMandate } from '../support/process.js'
import { BrowserClient } from '../support/browser-client.js'

/** `mandate users add` with `stdin` written to it; resolves with its exit code and output. */
async function usersAdd(args: string[], stdin: string | undefined, env: Record<string, string | undefined> = {}) {
  const p = spawnMandate(['users', 'add', ...args], env)
  if (stdin !== undefined) p.child.stdin.write(stdin)
  p.child.stdin.end()
  const code = await p.exited
  return { code, stdout: p.stdout(), stderr: p.stderr() }
}

describe('mandate users add', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mandate-users-cli-'))
  after(() => rmSync(dir, { recursive: true, force: true }))
  const env = { MANDATE_USER_PASSWORD: undefined, MANDATE_ADMIN_TOKEN: 'mdt_admin_cli-test-0123456789abcdefghijklmnopqrstuvwxyz' }

  test('creates people with a password from stdin, from the environment, or generated; each then signs in', async () => {
    const fromStdin = await usersAdd(['--username', 'stdin-person', '--display-name', 'Stdin Person', '--password-stdin', '--data-dir', dir], 'typed on stdin 1\n', env)
    assert.equal(fromStdin.code, 0, fromStdin.stderr)
    const created = JSON.parse(fromStdin.stdout) as Record<string, unknown>
    assert.match(String(created.id), /^usr_/)
    assert.equal(created.display_name, 'Stdin Person')
    assert.ok(!('generated_password' in created))
    assert.ok(!fromStdin.stdout.includes('typed on stdin'), 'the password is not echoed')

    const fromEnv = await usersAdd(['--username', 'env-person', '--data-dir', dir], undefined, { ...env, MANDATE_USER_PASSWORD: 'from the environment' })
    assert.equal(fromEnv.code, 0, fromEnv.stderr)

    const generated = await usersAdd(['--username', 'generated-person', '--data-dir', dir], undefined, env)
    assert.equal(generated.code, 0, generated.stderr)
    const password = (JSON.parse(generated.stdout) as { generated_password: string }).generated_password
    assert.match(password, /^[A-Za-z0-9_-]{24}$/)

    const server = spawnMandate(['serve', '--port', '0', '--data-dir', dir], env)
    try {
      const ready = await server.ready
      const url = /listening=(\S+)/.exec(ready)![1]!
      for (const [username, pw] of [['stdin-person', 'typed on stdin 1'], ['ENV-person', 'from the environment'], ['generated-person', password]]) {
        const res = await new BrowserClient({ url }).signIn(username!, pw!)
        assert.equal(res.status, 303, `${username}: ${res.html.slice(0, 200)}`)
      }
      const audit = await fetch(`${url}/admin/audit?action=user.created`, { headers: { authorization: `Bearer ${env.MANDATE_ADMIN_TOKEN}` } })
      const events = ((await audit.json()) as { events: Array<{ actor_type: string; actor_id: string; details: Record<string, unknown> }> }).events
      assert.equal(events.length, 3)
      assert.ok(events.every((e) => e.actor_type === 'admin' && e.actor_id === 'cli'))
      assert.ok(!JSON.stringify(events).includes('typed on stdin') && !JSON.stringify(events).includes(password))
    } finally {
      server.child.kill('SIGTERM')
      await server.exited
    }
  })

  test('refuses a password on the command line, a taken or bad username, and an empty stdin, with exit code 2 and one line', async () => {
    const cases: Array<[string, string[], string | undefined, RegExp]> = [
      ['--password on argv', ['--username', 'argv-person', '--password', 'visible in ps'], undefined, /--password is not accepted.*ps/],
      ['no --username', ['--password-stdin'], 'whatever pass', /--username is required/],
      ['a taken username (after case folding)', ['--username', 'STDIN-PERSON', '--password-stdin'], 'another password', /already exists/],
      ['a username with a space', ['--username', 'a b', '--password-stdin'], 'long enough pw', /username is required/],
      ['a short password', ['--username', 'short-pw', '--password-stdin'], 'short\n', /8 to 256 characters/],
      ['an empty stdin', ['--username', 'empty-stdin', '--password-stdin'], '', /stdin was empty/],
      ['an unknown flag', ['--username', 'x-person', '--colour', 'red'], undefined, /Unknown option|unknown/i],
    ]
    for (const [what, args, stdin, message] of cases) {
      const res = await usersAdd([...args, '--data-dir', dir], stdin, env)
      assert.equal(res.code, 2, `${what}: ${res.stderr}`)
      assert.match(res.stderr, message, what)
      assert.equal(res.stderr.trim().split('\n').length, 1, `${what}: one line`)
      assert.ok(!res.stderr.includes('visible in ps'), `${what}: a password is never echoed`)
    }
  })
})
