import { parseArgs } from 'node:util'
import { argon2Hasher } from '../adapters/password/argon2-hasher.js'
import { ConfigError } from '../config/config.js'
import { newSortableId } from '../crypto/secrets.js'
import { AuditLog } from '../domain/audit/audit-log.js'
import { UserExists, ValidationFailed } from '../domain/errors.js'
import { UserService } from '../domain/people/user-service.js'
import { userJson } from '../http/presenters.js'
import { systemClock } from '../ports/clock.js'
import { openOffline } from './offline.js'

export const USERS_ADD_USAGE = `  users add       create a person who signs in with a password:
                  --username NAME [--display-name TEXT] [--password-stdin]
                  the password comes from stdin (--password-stdin) or MANDATE_USER_PASSWORD,
                  never from the command line (ps shows arguments); with neither, one is
                  generated and printed once
`

/** Refused input, reported as one line with exit code 2. */
export class UsageError extends Error {}

/**
 * `mandate users add`: creates a person in the database, audited as the admin `cli`. Prints the
 * person as JSON (with `generated_password` when one was generated).
 */
export async function usersAdd(argv: string[], stdin: NodeJS.ReadableStream = process.stdin, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { own, rest } = splitFlags(argv)
  const password = own.passwordStdin ? await readPassword(stdin) : env.MANDATE_USER_PASSWORD || undefined
  const { database, storage } = await openOffline(rest)
  try {
    const clock = systemClock()
    const audit = await AuditLog.open(storage.audit, clock)
    try {
      const users = new UserService({ repo: storage.users, hasher: argon2Hasher(), audit, clock, newId: (now) => newSortableId('usr_', now) })
      const body = { username: own.username, ...(own.displayName === undefined ? {} : { display_name: own.displayName }), ...(password === undefined ? {} : { password }) }
      const created = await users.create(body, { actorType: 'admin', actorId: 'cli', ip: null, requestId: null })
      const out = created.generatedPassword === undefined ? userJson(created.user) : { ...userJson(created.user), generated_password: created.generatedPassword }
      process.stdout.write(JSON.stringify(out) + '\n')
      return 0
    } catch (err) {
      if (err instanceof ValidationFailed || err instanceof UserExists) throw new UsageError(err.message)
      throw err
    } finally {
      await audit.close()
    }
  } finally {
    await database.close()
  }
}

function splitFlags(argv: string[]) {
  let parsed: ReturnType<typeof parse>
  try {
    parsed = parse(argv)
  } catch (err) {
    throw new ConfigError((err as Error).message)
  }
  const { values, tokens } = parsed
  if (values.password !== undefined) throw new UsageError('--password is not accepted: arguments are visible to every user of the machine (ps); use --password-stdin or MANDATE_USER_PASSWORD')
  if (values.username === undefined) throw new UsageError('--username is required')
  // Everything that is not ours (--db, --data-dir, …) goes to the configuration, which checks it.
  const ours = new Set(['username', 'display-name', 'password-stdin', 'password'])
  const rest: string[] = []
  for (const t of tokens ?? []) {
    if (t.kind === 'option' && !ours.has(t.name)) rest.push(t.rawName, ...(t.value === undefined ? [] : [t.value]))
    else if (t.kind === 'positional') rest.push(t.value)
  }
  return { own: { username: values.username, displayName: values['display-name'], passwordStdin: values['password-stdin'] === true }, rest }
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    options: { username: { type: 'string' }, 'display-name': { type: 'string' }, 'password-stdin': { type: 'boolean' }, password: { type: 'string' } },
    strict: false,
    allowPositionals: true,
    tokens: true,
  })
}

/** The whole of stdin, less one trailing line break (what `echo` and a terminal add). */
async function readPassword(stdin: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of stdin) {
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer))
    if (chunks.reduce((n, c) => n + c.length, 0) > 4096) throw new UsageError('the password on stdin is longer than 4096 bytes')
  }
  const text = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '')
  if (text === '') throw new UsageError('--password-stdin was given but stdin was empty')
  return text
}
