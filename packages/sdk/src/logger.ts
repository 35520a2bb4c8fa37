/**
 * Where the SDK reports what it cannot throw (a failed heartbeat, a dropped revocation stream).
 * Messages and fields never contain secrets or tokens. Any console-like or pino-like object fits.
 */
export interface Logger {
  error(message: string, fields?: Record<string, unknown>): void
  warn(message: string, fields?: Record<string, unknown>): void
  info?(message: string, fields?: Record<string, unknown>): void
  debug?(message: string, fields?: Record<string, unknown>): void
}

/** The default: warnings and errors to the console, so that nothing fails silently. */
export const consoleLogger: Logger = {
  error: (message, fields) => console.error(`[mandate] ${message}`, ...(fields ? [fields] : [])),
  warn: (message, fields) => console.warn(`[mandate] ${message}`, ...(fields ? [fields] : [])),
}

export const silentLogger: Logger = { error: () => undefined, warn: () => undefined }
