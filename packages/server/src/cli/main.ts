#!/usr/bin/env node
import { ConfigError } from '../config/config.js'
import { DatabaseUnavailable } from '../adapters/storage/sql/index.js'
import { MasterKeyError } from '../crypto/envelope.js'
import { StandbyKeyNotReady } from '../domain/errors.js'
import { auditVerify } from './audit-verify.js'
import { keysRotate } from './keys-rotate.js'
import { ListenError, serve } from './serve.js'
import { UsageError, USERS_ADD_USAGE, usersAdd } from './users-add.js'

const USAGE = `usage: mandate <command> [flags]

commands:
  serve           run the server (flags: --port --host --db --issuer --data-dir --log-level --trust-proxy)
  keys rotate     make the standby key the signer (flags: --db --data-dir; --force for an
                  emergency rotation before the standby has been published for 70 s;
                  --withdraw-previous when the old key is compromised: its tokens stop verifying)
  audit verify    check every audit stream's hash chain offline (flags: --db --data-dir)
${USERS_ADD_USAGE}`

/** `mandate <verb>`: one file per verb; this only dispatches and turns known failures into one line. */
async function main(argv: string[]): Promise<number> {
  const [verb, sub, ...rest] = argv
  if (verb === 'serve') return serve([sub, ...rest].filter((a): a is string => a !== undefined))
  if (verb === 'keys' && sub === 'rotate') return keysRotate(rest)
  if (verb === 'audit' && sub === 'verify') return auditVerify(rest)
  if (verb === 'users' && sub === 'add') return usersAdd(rest)
  process.stderr.write(verb === undefined || verb === 'help' || verb === '--help' ? USAGE : `mandate: unknown command "${[verb, sub].filter(Boolean).join(' ')}"\n${USAGE}`)
  return verb === undefined || verb === 'help' || verb === '--help' ? 0 : 2
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (err: unknown) => {
    const known = err instanceof ConfigError || err instanceof DatabaseUnavailable || err instanceof MasterKeyError || err instanceof ListenError || err instanceof StandbyKeyNotReady || err instanceof UsageError
    process.stderr.write(`mandate: ${known ? (err as Error).message : `unexpected error: ${(err as Error)?.stack ?? String(err)}`}\n`)
    process.exitCode = err instanceof ConfigError || err instanceof UsageError ? 2 : 1
  },
)
