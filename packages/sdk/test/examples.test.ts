import assert from 'node:assert/strict'
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { admin, startTestServer, type TestServer } from './support/mandate-server.js'

/**
 * Keeps examples/ true: runs setup, the resource server and the batch agent exactly as the root
 * package.json scripts (and examples/README.md) do, as child processes against a real server.
 */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts

/** The command of a root `example:*` script, run with this node. */
function scriptArgs(name: string): string[] {
  const command = scripts[name]
  assert.ok(command, `package.json has no script ${name}`)
  // `exec` lets the shell npm starts hand signals straight to node.
  const words = command.split(' ')
  const [node, ...args] = words[0] === 'exec' ? words.slice(1) : words
  assert.equal(node, 'node', `${name} should run node directly`)
  return args
}

interface Child {
  process: ChildProcess
  stdout(): string
  stderr(): string
  exited: Promise<number | null>
}

function run(script: string, env: Record<string, string>): Child {
  // Only what the test passes: variables from the developer's shell would override the env file.
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(MANDATE_|LOANS_API_|BATCH_|EXAMPLES_)/.test(k)))
  const child = spawn(process.execPath, scriptArgs(script), { cwd: ROOT, env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return { process: child, stdout: () => out, stderr: () => err, exited }
}

async function finished(child: Child, what: string, timeoutMs: number): Promise<string> {
  const timer = setTimeout(() => child.process.kill('SIGKILL'), timeoutMs)
  const code = await child.exited
  clearTimeout(timer)
  assert.equal(code, 0, `${what} exited with ${code}\n--- stdout\n${child.stdout()}\n--- stderr\n${child.stderr()}`)
  return child.stdout()
}

async function lineMatching(child: Child, pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const found = pattern.exec(child.stdout())
    if (found) return found
    if (child.process.exitCode !== null || Date.now() > deadline) {
      assert.fail(`no line matching ${pattern}\n--- stdout\n${child.stdout()}\n--- stderr\n${child.stderr()}`)
    }
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe('examples/ against a real server', () => {
  let server: TestServer
  let dir: string
  let envFile: string
  let resourceServer: Child | undefined

  before(async () => {
    // The examples import @mandate/sdk, which resolves to packages/sdk/dist: build it from the current source.
    await promisify(execFile)(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'packages/sdk/tsconfig.build.json')], { cwd: ROOT })
    server = await startTestServer('sqlite')
    dir = mkdtempSync(join(tmpdir(), 'mandate-examples-'))
    envFile = join(dir, '.env')
  })
  after(async () => {
    if (resourceServer && resourceServer.process.exitCode === null) {
      resourceServer.process.kill('SIGKILL')
      await resourceServer.exited
    }
    await server?.close()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  test('setup, resource server and batch agent: the agent completes, nothing valid is refused, the ended session is', async () => {
    // 1. The operator's setup writes the env file the other two read. Tokens of 3 s, so the run renews.
    const setupOut = await finished(
      run('example:setup', { MANDATE_ISSUER: server.issuer, MANDATE_ADMIN_TOKEN: server.adminToken, EXAMPLES_ENV_FILE: envFile, BATCH_TOKEN_TTL_SECONDS: '3' }),
      'setup',
      30_000,
    )
    const written = readFileSync(envFile, 'utf8')
    assert.equal(setupOut.trim(), written.trim(), 'setup prints what it writes')
    for (const key of ['MANDATE_ISSUER', 'LOANS_API_CLIENT_ID', 'LOANS_API_CLIENT_SECRET', 'BATCH_INITIAL_ACCESS_TOKEN']) assert.match(written, new RegExp(`^${key}=\\S+$`, 'm'))

    // 2. The resource server, on a free port, configured only by the env file.
    resourceServer = run('example:resource-server', { EXAMPLES_ENV_FILE: envFile, LOANS_API_PORT: '0' })
    const api = (await lineMatching(resourceServer, /^Loans API ready: (http:\/\/127\.0\.0\.1:\d+) /m, 30_000))[1]!

    // What examples/README.md shows with curl: a bare request gets a challenge pointing at the metadata.
    const bare = await fetch(`${api}/loans`)
    assert.equal(bare.status, 401)
    assert.equal(bare.headers.get('www-authenticate'), `Bearer realm="${api}", resource_metadata="${api}/.well-known/oauth-protected-resource"`)
    const metadata = (await (await fetch(`${api}/.well-known/oauth-protected-resource`)).json()) as Record<string, unknown>
    assert.equal(metadata.resource, api)
    assert.deepEqual(metadata.authorization_servers, [server.issuer])
    // Both requests are logged before the agent starts, so its calls are told apart from them.
    await lineMatching(resourceServer, /^GET \/\.well-known\/oauth-protected-resource 200$/m, 5_000)
    const linesBefore = resourceServer.stdout().split('\n').length

    // 3. The batch agent registers itself, works through the API for a few seconds, completes.
    const agentOut = await finished(run('example:batch-agent', { EXAMPLES_ENV_FILE: envFile, LOANS_API_URL: api, BATCH_PACE_MS: '150' }), 'batch agent', 90_000)
    assert.match(agentOut, /registered agt_\S+ under role loan-batch/)
    const sessionId = /session (ses_\S+) started/.exec(agentOut)?.[1]
    assert.ok(sessionId, agentOut)
    assert.match(agentOut, /20\/20 loans assessed, 41 API calls; heartbeat #\d+ accepted/)
    assert.match(agentOut, /access token renewed \(#1/, 'a 3 s token over a run of several seconds is renewed')
    assert.match(agentOut, /session completed \(succeeded\): 41 API calls/)
    assert.match(agentOut, /session\.fetch now throws SessionEndedError \(state completed\)/)
    assert.match(agentOut, /the API refuses the session's last token: HTTP 401 Bearer .*error="invalid_token", error_description="the session has ended"/)

    // The server saw the same: completed, with the progress reported.
    const session = await admin(server, 'GET', `/sessions/${sessionId}`)
    assert.equal(session.status, 200)
    assert.equal(session.body.state, 'completed')
    assert.equal(session.body.outcome, 'succeeded')
    assert.equal(session.body.progress, 1)

    // 4. The resource server's log: every call of the run accepted; the one refusal is the ended session's token.
    const log = resourceServer.stdout().split('\n').slice(linesBefore - 1).filter((l) => /^(GET|POST) /.test(l))
    const refused = log.filter((l) => !/^\S+ \S+ 20[01]( |$)/.test(l))
    assert.equal(refused.length, 1, `expected exactly one refusal:\n${log.join('\n')}`)
    assert.match(refused[0]!, /^GET \/loans 401 \(the session has ended\)$/)
    assert.equal(log.at(-1), refused[0], 'the refusal comes last, after completion')
    const sessionCalls = log.filter((l) => l.endsWith(` ${sessionId}`))
    assert.ok(sessionCalls.length >= 41, `the agent's 41 calls were accepted:\n${log.join('\n')}`)
    assert.ok(sessionCalls.some((l) => /^POST \/loans\/L-\d+\/assessment 201 /.test(l)), 'the loans:write route accepted the session token')

    // 5. A second run reuses the credentials the first one saved, in a new session.
    const again = await finished(run('example:batch-agent', { EXAMPLES_ENV_FILE: envFile, LOANS_API_URL: api, BATCH_PACE_MS: '0' }), 'second batch agent run', 90_000)
    assert.match(again, /agent agt_\S+ \(saved credentials/)
    assert.doesNotMatch(again, /registered/)
    assert.match(again, /session completed \(succeeded\)/)
    assert.match(again, /the API refuses the session's last token: HTTP 401/)
  })

  test('"things to try": an operator terminates the session mid-run, and the agent stops saying so', async () => {
    assert.ok(resourceServer, 'the first test started the resource server')
    const api = /^Loans API ready: (\S+) /m.exec(resourceServer.stdout())![1]!
    const agent = run('example:batch-agent', { EXAMPLES_ENV_FILE: envFile, LOANS_API_URL: api, BATCH_PACE_MS: '300' })
    const sessionId = (await lineMatching(agent, /session (ses_\S+) started/, 30_000))[1]!
    await lineMatching(agent, /5\/20 loans assessed/, 30_000)
    const res = await admin(server, 'POST', `/sessions/${sessionId}/terminate`, { reason: 'drill' })
    assert.equal(res.status, 200)
    const timer = setTimeout(() => agent.process.kill('SIGKILL'), 30_000)
    assert.equal(await agent.exited, 1)
    clearTimeout(timer)
    assert.match(agent.stdout(), /the session ended under us: terminated \(drill\)/)
    assert.doesNotMatch(agent.stdout(), /session completed/)
  })

  test('the resource server stops cleanly on SIGTERM', async () => {
    assert.ok(resourceServer)
    resourceServer.process.kill('SIGTERM')
    assert.equal(await resourceServer.exited, 0)
  })
})
