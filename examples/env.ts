// Configuration shared by the examples: environment variables first, then the file setup.ts wrote.
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/** Where setup.ts writes the variables the other examples need (examples/.env unless EXAMPLES_ENV_FILE says). */
export const ENV_FILE = process.env.EXAMPLES_ENV_FILE || fileURLToPath(new URL('.env', import.meta.url))

/** Loads ENV_FILE if it exists; variables already set in the environment keep their values. */
export function loadEnv(): void {
  if (existsSync(ENV_FILE)) process.loadEnvFile(ENV_FILE)
}

/** A variable that must be set, or exit with a hint. */
export function required(name: string): string {
  const value = process.env[name]
  if (!value) {
    console.error(`${name} is not set. Run the setup step first (examples/README.md), or set it yourself.`)
    process.exit(1)
  }
  return value
}

/** The authorization server's issuer identifier: exactly what its metadata says. */
export function issuer(): string {
  return process.env.MANDATE_ISSUER || 'http://127.0.0.1:8080'
}
