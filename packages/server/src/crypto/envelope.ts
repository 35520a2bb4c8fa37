import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { CompactEncrypt, compactDecrypt } from 'jose'

export class MasterKeyError extends Error {}

const KEY_FILE = 'master.key'

/** Encrypts small secrets (private keys) under the key-encryption key: JWE dir + A256GCM. */
export interface Envelope {
  seal(plaintext: string, context: string): Promise<string>
  open(jwe: string, context: string): Promise<string>
}

export function envelope(kek: Uint8Array): Envelope {
  const encoder = new TextEncoder()
  const decoder = new TextDecoder()
  return {
    async seal(plaintext, context) {
      // The context (e.g. the kid) is bound as a protected header so a ciphertext cannot be swapped between rows.
      return new CompactEncrypt(encoder.encode(plaintext)).setProtectedHeader({ alg: 'dir', enc: 'A256GCM', ctx: context }).encrypt(kek)
    },
    async open(jwe, context) {
      const { plaintext, protectedHeader } = await compactDecrypt(jwe, kek)
      if (protectedHeader.ctx !== context) throw new MasterKeyError('sealed value belongs to another record')
      return decoder.decode(plaintext)
    },
  }
}

/**
 * The key-encryption key: MANDATE_MASTER_KEY (32 bytes, base64url or base64), else a 0600 file
 * in the data directory, created on first start. A file readable by others is refused.
 */
export function loadMasterKey(fromEnv: string | null, dataDir: string): { key: Uint8Array; source: string } {
  if (fromEnv !== null) return { key: decodeKey(fromEnv, 'MANDATE_MASTER_KEY'), source: 'MANDATE_MASTER_KEY' }
  const file = join(dataDir, KEY_FILE)
  if (!existsSync(file)) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 })
    writeFileSync(file, randomBytes(32).toString('base64url') + '\n', { mode: 0o600, flag: 'wx' })
    chmodSync(file, 0o600)
  }
  const mode = statSync(file).mode & 0o777
  if ((mode & 0o077) !== 0) throw new MasterKeyError(`${file} is readable by others (mode ${mode.toString(8)}); chmod 600 it`)
  return { key: decodeKey(readFileSync(file, 'utf8').trim(), file), source: file }
}

function decodeKey(text: string, where: string): Uint8Array {
  const bytes = Buffer.from(text.trim(), /[+/=]/.test(text) ? 'base64' : 'base64url')
  if (bytes.length !== 32) throw new MasterKeyError(`${where} must hold 32 bytes encoded as base64url (got ${bytes.length})`)
  return new Uint8Array(bytes)
}
