import type { Kysely, Selectable } from 'kysely'
import type { Agent, AgentRepo, AgentStatus, TokenEndpointAuthMethod } from '../../../ports/agent-repo.js'
import { publishRevocation } from './revocation-feed.js'
import type { AgentsTable, Database } from './schema.js'

export function agentFromRow(row: Selectable<AgentsTable>): Agent {
  return {
    id: row.id,
    role: row.role,
    roleVersion: row.role_version,
    status: row.status as AgentStatus,
    statusReason: row.status_reason,
    secretDigest: row.secret_digest,
    secretExpiresAt: row.secret_expires_at,
    registrationTokenDigest: row.registration_token_digest,
    authMethod: row.auth_method as TokenEndpointAuthMethod,
    scopes: JSON.parse(row.scopes) as string[],
    grantTypes: JSON.parse(row.grant_types) as string[],
    metadata: JSON.parse(row.metadata) as Record<string, unknown>,
    initialAccessTokenId: row.initial_access_token_id,
    tokensNotBefore: row.tokens_not_before,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}

export function agentToRow(a: Agent): Selectable<AgentsTable> {
  return {
    id: a.id,
    role: a.role,
    role_version: a.roleVersion,
    status: a.status,
    status_reason: a.statusReason,
    secret_digest: a.secretDigest,
    secret_expires_at: a.secretExpiresAt,
    registration_token_digest: a.registrationTokenDigest,
    auth_method: a.authMethod,
    scopes: JSON.stringify(a.scopes),
    grant_types: JSON.stringify(a.grantTypes),
    metadata: JSON.stringify(a.metadata),
    initial_access_token_id: a.initialAccessTokenId,
    tokens_not_before: a.tokensNotBefore,
    created_at: a.createdAt,
    updated_at: a.updatedAt,
  }
}

export function sqlAgentRepo(db: Kysely<Database>): AgentRepo {
  return {
    async get(id) {
      const row = await db.selectFrom('agents').selectAll().where('id', '=', id).executeTakeFirst()
      return row && agentFromRow(row)
    },
    async list({ role, status, limit, after }) {
      let q = db.selectFrom('agents').selectAll().orderBy('id').limit(limit)
      if (role !== undefined) q = q.where('role', '=', role)
      if (status !== undefined) q = q.where('status', '=', status)
      if (after !== undefined) q = q.where('id', '>', after)
      return (await q.execute()).map(agentFromRow)
    },
    async updateMetadata(id, fields, now) {
      const row = await db
        .updateTable('agents')
        .set({
          auth_method: fields.authMethod,
          scopes: JSON.stringify(fields.scopes),
          grant_types: JSON.stringify(fields.grantTypes),
          metadata: JSON.stringify(fields.metadata),
          role_version: fields.roleVersion,
          updated_at: now,
        })
        .where('id', '=', id)
        .where('status', '=', 'active')
        .returningAll()
        .executeTakeFirst()
      return row && agentFromRow(row)
    },
    async setStatus(id, from, to, reason, now, revokeUntil) {
      return db.transaction().execute(async (trx) => {
        // One statement decides the race between concurrent status changes.
        const row = await trx
          .updateTable('agents')
          .set({ status: to, status_reason: reason, updated_at: now, ...(to === 'suspended' ? { tokens_not_before: now } : {}) })
          .where('id', '=', id)
          .where('status', 'in', from)
          .returningAll()
          .executeTakeFirst()
        if (!row) return undefined
        if (to === 'suspended' || to === 'retired') await publishRevocation(trx, { type: 'agent', value: id, revokedAt: now, until: revokeUntil })
        if (to === 'retired') {
          await trx.updateTable('roles').set((eb) => ({ live_agents: eb('live_agents', '-', 1) })).where('name', '=', row.role).execute()
        }
        return agentFromRow(row)
      })
    },
    async retireExpired(now, limit) {
      return db.transaction().execute(async (trx) => {
        const expired = trx.selectFrom('agents').select('id').where('status', 'in', ['active', 'suspended']).where('secret_expires_at', '<=', now).orderBy('secret_expires_at').limit(limit)
        const rows = await trx
          .updateTable('agents')
          .set({ status: 'retired', status_reason: 'credentials expired', updated_at: now })
          .where('id', 'in', expired)
          .where('status', 'in', ['active', 'suspended'])
          .returningAll()
          .execute()
        const perRole = new Map<string, number>()
        for (const r of rows) perRole.set(r.role, (perRole.get(r.role) ?? 0) + 1)
        for (const [role, n] of perRole) {
          await trx.updateTable('roles').set((eb) => ({ live_agents: eb('live_agents', '-', n) })).where('name', '=', role).execute()
        }
        return rows.map(agentFromRow)
      })
    },
  }
}
