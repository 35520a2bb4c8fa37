import { extname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'

/**
 * Starts the worker module `name` (without extension) next to the calling module `base`
 * (its import.meta.url). The module is .ts when the server runs from source (tests, tsx) and .js
 * when built; from source the thread needs the TypeScript loader too, which threads do not inherit.
 */
export function startWorker(base: string, name: string, workerData: unknown): Worker {
  const fromSource = extname(fileURLToPath(base)) === '.ts'
  const url = new URL(`./${name}${fromSource ? '.ts' : '.js'}`, base)
  if (!fromSource) return new Worker(url, { workerData })
  // Running from source: register the TypeScript loader inside the thread, then load the worker.
  const bootstrap = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(url.href)}) })`
  return new Worker(bootstrap, { eval: true, workerData })
}
