import type { Selectable, Transaction } from 'kysely'
import type { GrantRefreshOutcome } from '../../../ports/authorization-repo.js'
import { grantFromRow } from './authorization-rows.js'
import type { Database, PersonGrantsTable } from './schema.js'

export interface GrantRotation {
  digest: string
  successorDigest: string
  agentId: string
  now: number
  graceMs: number
}

/**
 * RFC 6749 §6 with rotation (RFC 9700 §4.14.2), inside the caller's transaction: the same rules
 * as an agent session's refresh tokens (session-repo.ts). The grant row is read first and locked
 * on PostgreSQL, so a rotation and the grant's end are serialised; of concurrent uses of one
 * token, the one whose conditional update finds rotated_at empty rotates it.
 */
export async function grantRefreshRotation(
  trx: Transaction<Database>,
  r: GrantRotation,
  lockGrant: (id: string) => Promise<Selectable<PersonGrantsTable> | undefined>,
): Promise<GrantRefreshOutcome> {
  const token = await trx.selectFrom('grant_refresh_tokens').select(['grant_id']).where('digest', '=', r.digest).executeTakeFirst()
  if (!token) return { status: 'unknown' }
  const row = await lockGrant(token.grant_id)
  // RFC 6749 §6: a token issued to another client is unknown to this one, and nothing changes.
  if (!row || row.agent_id !== r.agentId) return { status: 'unknown' }
  const grant = grantFromRow(row)
  if (grant.state !== 'active' || grant.expiresAt <= r.now) return { status: 'inactive', grant }
  const rotated = await trx.updateTable('grant_refresh_tokens').set({ rotated_at: r.now }).where('digest', '=', r.digest).where('rotated_at', 'is', null).returning('digest').executeTakeFirst()
  if (rotated) {
    await trx.insertInto('grant_refresh_tokens').values({ digest: r.successorDigest, grant_id: grant.id, created_at: r.now, rotated_at: null }).execute()
    return { status: 'rotated', grant }
  }
  const previous = await trx.selectFrom('grant_refresh_tokens').select('rotated_at').where('digest', '=', r.digest).executeTakeFirst()
  const successor = await trx.selectFrom('grant_refresh_tokens').select('rotated_at').where('digest', '=', r.successorDigest).where('grant_id', '=', grant.id).executeTakeFirst()
  // A retry of the rotation that just happened (a lost response, two processes sharing the token)
  // gets the same successor; anything older is a copy in someone else's hands.
  const recent = previous?.rotated_at != null && r.now - previous.rotated_at <= r.graceMs
  if (recent && successor && successor.rotated_at === null) return { status: 'replayed', grant }
  return { status: 'reused', grant }
}
