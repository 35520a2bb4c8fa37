import { PostgresAdapter, type Kysely, type Selectable, type Transaction } from 'kysely'
import type { AuthorizationRepo, PersonGrant } from '../../../ports/authorization-repo.js'
import { codeFromRow, grantFromRow, grantToRow } from './authorization-rows.js'
import { grantRefreshRotation } from './grant-refresh-rotation.js'
import { publishRevocation } from './revocation-feed.js'
import type { Database, PersonGrantsTable } from './schema.js'

async function insertGrant(trx: Transaction<Database>, grant: PersonGrant, refreshDigest: string | null): Promise<void> {
  await trx.insertInto('person_grants').values(grantToRow(grant)).execute()
  if (refreshDigest !== null) await trx.insertInto('grant_refresh_tokens').values({ digest: refreshDigest, grant_id: grant.id, created_at: grant.createdAt, rotated_at: null }).execute()
}

export function sqlAuthorizationRepo(db: Kysely<Database>): AuthorizationRepo {
  return {
    async createCode(c, digest) {
      await db.insertInto('authorization_codes').values({
        digest, id: c.id, agent_id: c.agentId, redirect_uri: c.redirectUri, redirect_uri_sent: c.redirectUriSent ? 1 : 0,
        code_challenge: c.codeChallenge, nonce: c.nonce, scope: JSON.stringify(c.scope), audience: c.audience === null ? null : JSON.stringify(c.audience),
        user_id: c.userId, consent_id: c.consentId, auth_time: c.authTime, created_at: c.createdAt, expires_at: c.expiresAt,
        consumed_at: c.consumedAt, grant_id: c.grantId,
      }).execute()
    },

    async findCode(digest) {
      const row = await db.selectFrom('authorization_codes').selectAll().where('digest', '=', digest).executeTakeFirst()
      return row && codeFromRow(row)
    },

    async redeemCode(digest, now, grant, refreshDigest) {
      return db.transaction().execute(async (trx) => {
        // RFC 6749 §4.1.2: single use. Of concurrent redemptions, the one whose update finds
        // consumed_at empty wins; the grant is stored in the same transaction.
        const row = await trx
          .updateTable('authorization_codes')
          .set({ consumed_at: now, grant_id: grant.id })
          .where('digest', '=', digest)
          .where('consumed_at', 'is', null)
          .where('expires_at', '>', now)
          .returningAll()
          .executeTakeFirst()
        if (row) {
          await insertGrant(trx, grant, refreshDigest)
          return { status: 'redeemed' as const, code: codeFromRow(row), grant }
        }
        const existing = await trx.selectFrom('authorization_codes').selectAll().where('digest', '=', digest).executeTakeFirst()
        if (!existing) return { status: 'unknown' as const }
        if (existing.consumed_at !== null) return { status: 'replayed' as const, code: codeFromRow(existing) }
        return { status: 'expired' as const }
      })
    },

    async voidCodesForConsent(consentId, now) {
      const res = await db.updateTable('authorization_codes').set({ consumed_at: now }).where('consent_id', '=', consentId).where('consumed_at', 'is', null).executeTakeFirst()
      return Number(res.numUpdatedRows)
    },

    async createGrant(grant, refreshDigest) {
      await db.transaction().execute((trx) => insertGrant(trx, grant, refreshDigest))
    },

    async addRefreshToken(grantId, digest, now) {
      return db.transaction().execute(async (trx) => {
        const grant = await lockGrant(trx, grantId)
        if (!grant || grant.state !== 'active' || grant.expires_at <= now) return false
        await trx.insertInto('grant_refresh_tokens').values({ digest, grant_id: grantId, created_at: now, rotated_at: null }).execute()
        return true
      })
    },

    async getGrant(id) {
      const row = await db.selectFrom('person_grants').selectAll().where('id', '=', id).executeTakeFirst()
      return row && grantFromRow(row)
    },

    async endGrant(id, end) {
      return db.transaction().execute(async (trx) => {
        // One statement decides which of several concurrent ends wins.
        const row = await trx
          .updateTable('person_grants')
          .set({ state: 'ended', end_reason: end.reason, ended_at: end.now })
          .where('id', '=', id)
          .where('state', '=', 'active')
          .returningAll()
          .executeTakeFirst()
        if (!row) return undefined
        await trx.deleteFrom('grant_refresh_tokens').where('grant_id', '=', id).execute()
        // Its access tokens carry the grant id as sid: resource servers drop them as a session's.
        await publishRevocation(trx, { type: 'session', value: id, revokedAt: end.now, until: end.revokeUntil })
        return grantFromRow(row)
      })
    },

    async endGrantsForUser(userId, end) {
      return db.transaction().execute(async (trx) => {
        // One statement decides which grants this call ends; a concurrent end of one of them loses or wins as a whole.
        const rows = await trx
          .updateTable('person_grants')
          .set({ state: 'ended', end_reason: end.reason, ended_at: end.now })
          .where('user_id', '=', userId)
          .where('state', '=', 'active')
          .returningAll()
          .execute()
        // Nor does a code they were given and no agent has redeemed yet (RFC 6749 §4.1.2: single use; this is its use).
        await trx.updateTable('authorization_codes').set({ consumed_at: end.now }).where('user_id', '=', userId).where('consumed_at', 'is', null).execute()
        if (rows.length === 0) return []
        // By subquery, not a list of ids: no bound-parameter limit however many grants the person has. Ended grants hold no refresh tokens anyway.
        await trx.deleteFrom('grant_refresh_tokens')
          .where('grant_id', 'in', (eb) => eb.selectFrom('person_grants').select('id').where('user_id', '=', userId).where('state', '=', 'ended'))
          .execute()
        for (const row of rows) {
          await publishRevocation(trx, { type: 'session', value: row.id, revokedAt: end.now, until: Math.min(row.expires_at, end.revokeUntil) })
        }
        return rows.map(grantFromRow)
      })
    },

    async listActiveForConsent(consentId, limit) {
      const rows = await db.selectFrom('person_grants').selectAll().where('consent_id', '=', consentId).where('state', '=', 'active').orderBy('id').limit(limit).execute()
      return rows.map(grantFromRow)
    },

    rotateRefreshToken: (rotation) => db.transaction().execute((trx) => grantRefreshRotation(trx, rotation, (id) => lockGrant(trx, id))),

    async findByRefreshToken(digest) {
      const row = await db
        .selectFrom('grant_refresh_tokens')
        .innerJoin('person_grants', 'person_grants.id', 'grant_refresh_tokens.grant_id')
        .selectAll('person_grants')
        .select('grant_refresh_tokens.rotated_at as token_rotated_at')
        .where('grant_refresh_tokens.digest', '=', digest)
        .executeTakeFirst()
      if (!row) return undefined
      const { token_rotated_at, ...grant } = row
      return { grant: grantFromRow(grant), current: token_rotated_at === null }
    },

    async purgeCodes(before) {
      const res = await db.deleteFrom('authorization_codes').where('expires_at', '<', before).executeTakeFirst()
      return Number(res.numDeletedRows)
    },
  }
}

/** Reads a grant, locking its row on PostgreSQL so a rotation and the grant's end are serialised. */
async function lockGrant(trx: Transaction<Database>, id: string): Promise<Selectable<PersonGrantsTable> | undefined> {
  let q = trx.selectFrom('person_grants').selectAll().where('id', '=', id)
  if (trx.getExecutor().adapter instanceof PostgresAdapter) q = q.forUpdate()
  return q.executeTakeFirst()
}
