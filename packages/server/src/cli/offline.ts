import { openDatabase, sqlStorage } from '../adapters/storage/sql/index.js'
import { loadConfig } from '../config/config.js'

/** Opens the configured database for a one-off command; the caller closes it. */
export async function openOffline(argv: string[]) {
  const config = loadConfig(argv, process.env)
  const database = await openDatabase(config.db)
  return { config, database, storage: sqlStorage(database) }
}
