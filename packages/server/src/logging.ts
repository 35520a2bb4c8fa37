import pino, { type DestinationStream, type Logger } from 'pino'
import type { LogLevel } from './config/config.js'

/**
 * Where a secret could sit in something logged. Nothing logs requests, bodies or headers today
 * (per-request logging is off and error details never quote them); this is the second lock.
 */
const REDACT = [
  'req.headers.authorization', 'req.headers.cookie', 'headers.authorization', 'headers.cookie',
  '*.authorization', '*.client_secret', '*.token', '*.access_token', '*.refresh_token',
  '*.registration_access_token', '*.initial_access_token', '*.password', '*.secret',
]

/**
 * JSON lines on stderr, so stdout carries only the lines meant for the operator (the ready line,
 * a generated admin token). Request-scoped lines carry `reqId`, the id sent back as X-Request-Id.
 */
export function createLogger(level: LogLevel, destination: DestinationStream = pino.destination(2)): Logger {
  return pino({ level, redact: { paths: REDACT, censor: '[redacted]' } }, destination)
}
