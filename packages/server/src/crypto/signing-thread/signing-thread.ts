import type { Worker } from 'node:worker_threads'
import type { CryptoKey } from 'jose'
import { startWorker } from '../../worker-thread.js'
import { es256Key, type CompactSigner, type Es256Key } from '../compact-jws.js'
import type { SigningReply, SigningRequest } from './protocol.js'

interface Job {
  key: Es256Key
  typ: string
  payloadJson: string
  resolve: (token: string) => void
  reject: (err: unknown) => void
}

/**
 * Signs tokens on a worker thread, so the event loop spends its time on requests rather than on
 * ECDSA (measured: the signature was the largest single cost on the token path). Jobs of one turn
 * of the event loop travel as one message each way. The thread starts with the first token.
 *
 * If the thread fails, the jobs it held and every later one are signed on the main thread: slower,
 * never wrong, and no request fails for it.
 */
export class SigningThread {
  private worker: Worker | undefined
  private failed = false
  private closed = false
  private queue: Job[] = []
  private flushScheduled = false
  private nextId = 1
  private readonly inFlight = new Map<number, Job[]>()
  private readonly keysSent = new Set<string>()

  constructor(private readonly onFailure: (err: Error) => void) {}

  /** A signer for one key that signs on this thread. */
  signerFor = (kid: string, privateKey: CryptoKey): CompactSigner => {
    const key = es256Key(kid, privateKey)
    return { kid, sign: (typ, payloadJson) => this.enqueue(key, typ, payloadJson) }
  }

  /** Signs what is in flight, then stops the thread. */
  async close(): Promise<void> {
    this.closed = true
    this.flush()
    while (this.inFlight.size > 0) await new Promise((r) => setImmediate(r))
    const worker = this.worker
    this.worker = undefined
    await worker?.terminate()
  }

  private enqueue(key: Es256Key, typ: string, payloadJson: string): Promise<string> {
    if (this.failed || this.closed) return signHere(key, typ, payloadJson)
    return new Promise<string>((resolve, reject) => {
      this.queue.push({ key, typ, payloadJson, resolve, reject })
      if (!this.flushScheduled) {
        this.flushScheduled = true
        // After the poll phase: every request parsed in this turn joins the batch.
        setImmediate(() => this.flush())
      }
    })
  }

  private flush(): void {
    this.flushScheduled = false
    const jobs = this.queue
    if (jobs.length === 0) return
    this.queue = []
    if (this.failed) return settleHere(jobs)
    const worker = (this.worker ??= this.start())
    for (const job of jobs) {
      if (this.keysSent.has(job.key.kid)) continue
      worker.postMessage({ op: 'key', kid: job.key.kid, key: job.key.key } satisfies SigningRequest)
      this.keysSent.add(job.key.kid)
    }
    const id = this.nextId++
    this.inFlight.set(id, jobs)
    worker.postMessage({ op: 'sign', id, jobs: jobs.map((j) => [j.key.kid, j.typ, j.payloadJson]) } satisfies SigningRequest)
  }

  private start(): Worker {
    const worker = startWorker(import.meta.url, 'worker', null)
    worker.on('message', (reply: SigningReply) => {
      const jobs = this.inFlight.get(reply.id)
      this.inFlight.delete(reply.id)
      jobs?.forEach((job, i) => {
        const token = reply.tokens[i]
        if (typeof token === 'string') job.resolve(token)
        else settleHere([job])
      })
    })
    const fail = (err: Error) => {
      if (this.failed) return
      this.failed = true
      if (!this.closed) this.onFailure(err)
      for (const jobs of this.inFlight.values()) settleHere(jobs)
      this.inFlight.clear()
    }
    worker.on('error', fail)
    worker.on('exit', (code) => {
      if (this.worker === worker) fail(new Error(`the signing thread exited (${code})`))
    })
    return worker
  }
}

function signHere(key: Es256Key, typ: string, payloadJson: string): Promise<string> {
  try {
    return Promise.resolve(key.signNow(typ, payloadJson))
  } catch (err) {
    return Promise.reject(err)
  }
}

function settleHere(jobs: Job[]): void {
  for (const job of jobs) signHere(job.key, job.typ, job.payloadJson).then(job.resolve, job.reject)
}
