import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url))

export interface ServerProcess {
  child: ChildProcessWithoutNullStreams
  stdout(): string
  stderr(): string
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>
  /** Resolves with the ready line, or rejects if the process exits first. */
  ready: Promise<string>
}

/** Runs `mandate <args>` as its own process, the way an operator would. */
export function spawnMandate(args: string[], env: Record<string, string | undefined> = {}): ServerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { env: { ...process.env, ...env }, stdio: 'pipe' })
  let out = ''
  let err = ''
  child.stdout.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr.on('data', (d: Buffer) => (err += d.toString()))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  const ready = new Promise<string>((resolve, reject) => {
    const check = () => {
      const line = out.split('\n').find((l) => l.includes('Mandate ready'))
      if (line) resolve(line)
    }
    child.stdout.on('data', check)
    void exited.then((code) => reject(new Error(`mandate exited with ${code} before it was ready: ${err.trim()}`)))
  })
  ready.catch(() => undefined)
  return { child, stdout: () => out, stderr: () => err, exited, ready }
}

/** Runs a one-off `mandate` command to completion. */
export async function runMandate(args: string[], env: Record<string, string | undefined> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = spawnMandate(args, env)
  const code = await p.exited
  return { code, stdout: p.stdout(), stderr: p.stderr() }
}
