import { loadConfig } from '../config/config.js'
import { createMandate } from '../main.js'

/** `mandate serve`: start, print one ready line with the issuer, stop cleanly on SIGTERM/SIGINT. */
export async function serve(argv: string[]): Promise<number> {
  const config = loadConfig(argv, process.env)
  const mandate = await createMandate(config)
  let url: string
  try {
    url = await mandate.listen()
  } catch (err) {
    await mandate.close()
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EADDRINUSE') throw new ListenError(`port ${config.port} on ${config.host} is already in use`)
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') throw new ListenError(`cannot listen on host ${config.host}`)
    if (code === 'EACCES') throw new ListenError(`not allowed to listen on port ${config.port}`)
    throw err
  }
  if (mandate.generatedAdminToken) {
    process.stdout.write(`Admin token (shown once; store it now, only its digest is kept): ${mandate.generatedAdminToken}\n`)
  }
  process.stdout.write(`Mandate ready: issuer=${mandate.issuer()} listening=${url} db=${mandate.engine}\n`)

  return new Promise<number>((resolve) => {
    let stopping = false
    const stop = (signal: string) => {
      if (stopping) {
        process.stderr.write(`mandate: ${signal} again, exiting now\n`)
        process.exit(1)
      }
      stopping = true
      mandate.close().then(
        () => resolve(0),
        (err: unknown) => {
          process.stderr.write(`mandate: error while stopping: ${(err as Error).message}\n`)
          resolve(1)
        },
      )
    }
    process.once('SIGTERM', () => stop('SIGTERM'))
    process.once('SIGINT', () => stop('SIGINT'))
  })
}

export class ListenError extends Error {}
