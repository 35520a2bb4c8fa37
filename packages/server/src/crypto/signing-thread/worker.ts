import type { KeyObject } from 'node:crypto'
import { parentPort } from 'node:worker_threads'
import { compactEs256 } from '../compact-jws.js'
import type { SigningReply, SigningRequest } from './protocol.js'

/** Signs batches of tokens off the event loop that serves requests. */
const signers = new Map<string, (typ: string, payloadJson: string) => string>()

parentPort!.on('message', (req: SigningRequest) => {
  if (req.op === 'key') {
    signers.set(req.kid, compactEs256(req.kid, req.key as KeyObject))
    return
  }
  const tokens = req.jobs.map(([kid, typ, payloadJson]) => {
    const sign = signers.get(kid)
    if (!sign) return null
    try {
      return sign(typ, payloadJson)
    } catch {
      return null
    }
  })
  parentPort!.postMessage({ id: req.id, tokens } satisfies SigningReply)
})
