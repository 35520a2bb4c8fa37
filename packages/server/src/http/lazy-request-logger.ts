import type { FastifyBaseLogger, FastifyServerOptions } from 'fastify'

type ChildLoggerFactory = NonNullable<FastifyServerOptions['childLoggerFactory']>

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
type AnyLog = (...args: unknown[]) => void

/**
 * Fastify gives every request a child logger carrying its reqId. Making a pino child copies the
 * parent's bindings and serialisers, a measurable cost per token, while almost no request ever
 * logs (per-request lines are off). So the child is made on first use, with the same bindings.
 */
export const lazyRequestLogger: ChildLoggerFactory = (logger, bindings, options) => {
  let child: FastifyBaseLogger | undefined
  const real = (): FastifyBaseLogger => (child ??= logger.child(bindings, options))
  const method = (level: Level) => ((...args: unknown[]) => (real()[level] as AnyLog)(...args)) as FastifyBaseLogger[Level]
  return {
    get level() {
      return child?.level ?? options.level ?? logger.level
    },
    set level(level) {
      real().level = level
    },
    fatal: method('fatal'),
    error: method('error'),
    warn: method('warn'),
    info: method('info'),
    debug: method('debug'),
    trace: method('trace'),
    silent: method('silent'),
    child: (b, o) => real().child(b, o),
  }
}
