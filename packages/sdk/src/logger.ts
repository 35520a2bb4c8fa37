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

/** One line: `[mandate] message (key=value, key="a string")`, whatever the fields hold. */
export function formatLine(message: string, fields?: Record<string, unknown>): string {
  const parts: string[] = []
  for (const [key, value] of Object.entries(fields ?? {})) {
    if (value === undefined) continue
    parts.push(`${key}=${formatValue(value)}`)
  }
  return `[mandate] ${message}${parts.length > 0 ? ` (${parts.join(', ')})` : ''}`
}

function formatValue(value: unknown): string {
  // An Error shows its message, never its stack.
  if (value instanceof Error) return JSON.stringify(value.message)
  if (typeof value === 'string') return JSON.stringify(value)
  if (typeof value !== 'object' || value === null) return String(value)
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}

/**
 * The default: errors, warnings and info to the console, one line each, so that nothing fails
 * silently and a recovery is seen as well as the failure. Debug lines are dropped.
 */
export const consoleLogger: Logger = {
  error: (message, fields) => console.error(formatLine(message, fields)),
  warn: (message, fields) => console.warn(formatLine(message, fields)),
  info: (message, fields) => console.info(formatLine(message, fields)),
}

export const silentLogger: Logger = { error: () => undefined, warn: () => undefined }
