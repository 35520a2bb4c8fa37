/**
 * The database cannot be reached or cannot take the write right now (connection refused, pool
 * exhausted, disk full, locked). Callers may retry; the HTTP edge answers 503.
 */
export class StorageUnavailable extends Error {}
