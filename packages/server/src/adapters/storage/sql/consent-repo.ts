import type { Kysely, Selectable } from 'kysely'
import type { Consent, ConsentRepo } from '../../../ports/consent-repo.js'
import { purposesFromColumn } from './role-repo.js'
import type { ConsentsTable, Database } from './schema.js'

function consentFromRow(r: Selectable<ConsentsTable>): Consent {
  return {
    id: r.id,
    userId: r.user_id,
    agentId: r.agent_id,
    agentName: r.agent_name,
    roleName: r.role_name,
    roleVersion: r.role_version,
    scopes: JSON.parse(r.scopes) as string[],
    purposes: purposesFromColumn(r.purposes),
    textDigest: r.text_digest,
    grantedAt: r.granted_at,
    expiresAt: r.expires_at,
    withdrawnAt: r.withdrawn_at,
  }
}

export function sqlConsentRepo(db: Kysely<Database>): ConsentRepo {
  return {
    async create(c) {
      await db
        .insertInto('consents')
        .values({
          id: c.id, user_id: c.userId, agent_id: c.agentId, agent_name: c.agentName, role_name: c.roleName, role_version: c.roleVersion,
          scopes: JSON.stringify(c.scopes),
          purposes: JSON.stringify(c.purposes.map((p) => ({ id: p.id, description: p.description, lawful_basis: p.lawfulBasis }))),
          text_digest: c.textDigest, granted_at: c.grantedAt, expires_at: c.expiresAt, withdrawn_at: c.withdrawnAt,
        })
        .execute()
    },
    async get(id) {
      const row = await db.selectFrom('consents').selectAll().where('id', '=', id).executeTakeFirst()
      return row && consentFromRow(row)
    },
    async findUnexpired(q) {
      const rows = await db
        .selectFrom('consents')
        .selectAll()
        .where('user_id', '=', q.userId)
        .where('role_name', '=', q.roleName)
        .where('withdrawn_at', 'is', null)
        .where('expires_at', '>', q.now)
        .where((eb) => eb.or([eb('agent_id', '=', q.agentId), eb('agent_id', 'is', null)]))
        .orderBy('id', 'desc')
        .limit(q.limit)
        .execute()
      return rows.map(consentFromRow)
    },
    async list(f) {
      let q = db.selectFrom('consents').selectAll()
      if (f.userId !== undefined) q = q.where('user_id', '=', f.userId)
      if (f.agentId !== undefined) q = q.where('agent_id', '=', f.agentId)
      if (f.status === 'withdrawn') q = q.where('withdrawn_at', 'is not', null)
      if (f.status === 'active') q = q.where('withdrawn_at', 'is', null).where('expires_at', '>', f.now)
      if (f.status === 'expired') q = q.where('withdrawn_at', 'is', null).where('expires_at', '<=', f.now)
      if (f.after !== undefined) q = q.where('id', f.newestFirst === true ? '<' : '>', f.after)
      const rows = await q.orderBy('id', f.newestFirst === true ? 'desc' : 'asc').limit(f.limit).execute()
      return rows.map(consentFromRow)
    },
    async withdraw(id, userId, now) {
      // The check and the change are one statement: racing withdrawals withdraw it once.
      const row = await db
        .updateTable('consents')
        .set({ withdrawn_at: now })
        .where('id', '=', id)
        .where('user_id', '=', userId)
        .where('withdrawn_at', 'is', null)
        .returningAll()
        .executeTakeFirst()
      return row && consentFromRow(row)
    },
    async initialAccessTokenCreator(id) {
      const row = await db.selectFrom('initial_access_tokens').select('created_by').where('id', '=', id).executeTakeFirst()
      return row?.created_by
    },
  }
}
