import { verifyAuditLog } from '../domain/audit/verify.js'
import { openOffline } from './offline.js'

/** `mandate audit verify`: walks every audit stream in the database; exit 0 when the log is intact. */
export async function auditVerify(argv: string[]): Promise<number> {
  const { database, storage } = await openOffline(argv)
  try {
    const result = await verifyAuditLog(storage.audit)
    process.stdout.write(JSON.stringify(result) + '\n')
    return result.ok ? 0 : 1
  } finally {
    await database.close()
  }
}
