import { KeyObject, sign } from 'node:crypto'
import type { CryptoKey } from 'jose'

/**
 * Compact JWS (RFC 7515 §7.1) signed with ES256 through node:crypto's one-shot `sign`.
 *
 * Chosen by measurement inside the server (docs/architecture.md, "Signing"): jose signs through
 * WebCrypto, whose per-call dispatch cost the main thread more than the signature itself. Tokens
 * are still verified with jose, here and in the SDK, so a slip in this encoding fails the tests.
 */
export interface CompactSigner {
  kid: string
  sign(typ: string, payloadJson: string): Promise<string>
}

/** What a signing thread needs to sign for a key, and to sign here if it cannot. */
export interface Es256Key {
  kid: string
  key: KeyObject
  /** Signs on the calling thread. */
  signNow(typ: string, payloadJson: string): string
}

export function es256Key(kid: string, privateKey: CryptoKey | KeyObject): Es256Key {
  const key = privateKey instanceof KeyObject ? privateKey : KeyObject.from(privateKey as Parameters<typeof KeyObject.from>[0])
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') throw new Error(`key ${kid} is not a P-256 key`)
  return { kid, key, signNow: compactEs256(kid, key) }
}

/** The signing function for one key; the protected header of each token type is encoded once. */
export function compactEs256(kid: string, key: KeyObject): (typ: string, payloadJson: string) => string {
  const headers = new Map<string, string>()
  return (typ, payloadJson) => {
    let header = headers.get(typ)
    if (header === undefined) {
      header = Buffer.from(JSON.stringify({ alg: 'ES256', typ, kid })).toString('base64url')
      headers.set(typ, header)
    }
    const input = `${header}.${Buffer.from(payloadJson).toString('base64url')}`
    // RFC 7518 §3.4: the signature is R || S, 32 bytes each, not DER.
    const signature = sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' })
    return `${input}.${signature.toString('base64url')}`
  }
}

/** Signs on the calling thread (the CLI, and a server whose signing thread has failed). */
export function inProcessSigner(kid: string, privateKey: CryptoKey): CompactSigner {
  const k = es256Key(kid, privateKey)
  return { kid, sign: async (typ, payloadJson) => k.signNow(typ, payloadJson) }
}
