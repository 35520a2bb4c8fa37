import type { Kysely, Selectable } from 'kysely'
import type { LawfulBasis, Lifecycle, Purpose, Role, RoleRepo, RoleSettings } from '../../../ports/role-repo.js'
import type { Database, RolesTable } from './schema.js'
import { isUniqueViolation } from './sql-errors.js'

export function roleFromRow(row: Selectable<RolesTable>): Role {
  return {
    name: row.name,
    scopes: JSON.parse(row.scopes) as string[],
    tokenTtlSeconds: row.token_ttl_seconds,
    maxAgents: row.max_agents,
    lifecycle: row.lifecycle as Lifecycle,
    agentTtlSeconds: row.agent_ttl_seconds,
    canIntrospect: row.can_introspect === 1,
    maxSessionSeconds: row.max_session_seconds,
    healthCheckHosts: JSON.parse(row.health_check_hosts) as string[],
    rateLimit: { perSecond: Number(row.rate_limit_per_second), burst: Number(row.rate_limit_burst) },
    purposes: purposesFromColumn(row.purposes),
    version: row.version,
    liveAgents: row.live_agents,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}

function settingsToRow(s: RoleSettings) {
  return {
    scopes: JSON.stringify(s.scopes),
    token_ttl_seconds: s.tokenTtlSeconds,
    max_agents: s.maxAgents,
    lifecycle: s.lifecycle,
    agent_ttl_seconds: s.agentTtlSeconds,
    can_introspect: s.canIntrospect ? 1 : 0,
    max_session_seconds: s.maxSessionSeconds,
    health_check_hosts: JSON.stringify(s.healthCheckHosts),
    rate_limit_per_second: s.rateLimit.perSecond,
    rate_limit_burst: s.rateLimit.burst,
    // snake_case in the column, as on the wire and in consent records.
    purposes: JSON.stringify(s.purposes.map((p) => ({ id: p.id, description: p.description, lawful_basis: p.lawfulBasis }))),
  }
}

/** The stored JSON of a role's purposes (`[]` for roles made before purposes existed). */
export function purposesFromColumn(text: string): Purpose[] {
  const stored = JSON.parse(text) as Array<{ id: string; description: string; lawful_basis: LawfulBasis }>
  return stored.map((p) => ({ id: p.id, description: p.description, lawfulBasis: p.lawful_basis }))
}

export function sqlRoleRepo(db: Kysely<Database>): RoleRepo {
  return {
    async create(role) {
      try {
        await db
          .insertInto('roles')
          .values({ name: role.name, ...settingsToRow(role), version: role.version, live_agents: 0, created_at: role.createdAt, updated_at: role.updatedAt })
          .execute()
        return true
      } catch (err) {
        if (isUniqueViolation(err)) return false
        throw err
      }
    },
    async get(name) {
      const row = await db.selectFrom('roles').selectAll().where('name', '=', name).executeTakeFirst()
      return row && roleFromRow(row)
    },
    async list() {
      const rows = await db.selectFrom('roles').selectAll().orderBy('name').execute()
      return rows.map(roleFromRow)
    },
    async update(name, settings, now) {
      const row = await db
        .updateTable('roles')
        .set((eb) => ({ ...settingsToRow(settings), version: eb('version', '+', 1), updated_at: now }))
        .where('name', '=', name)
        .returningAll()
        .executeTakeFirst()
      return row && roleFromRow(row)
    },
    async delete(name) {
      // Thrown to roll back the token deletion when the role turns out to have agents.
      class HasAgents extends Error {}
      try {
        return await db.transaction().execute(async (trx) => {
          // Lock in the order registration does (its initial access tokens, then the role), or a
          // registration holding a token while this holds the role deadlocks on PostgreSQL.
          await trx.deleteFrom('initial_access_tokens').where('role', '=', name).execute()
          // The condition and the delete are one statement, so a registration cannot slip in between.
          const gone = await trx.deleteFrom('roles').where('name', '=', name).where('live_agents', '=', 0).returning('name').executeTakeFirst()
          if (gone) return 'deleted' as const
          const exists = await trx.selectFrom('roles').select('name').where('name', '=', name).executeTakeFirst()
          if (exists) throw new HasAgents()
          return 'missing' as const
        })
      } catch (err) {
        if (err instanceof HasAgents) return 'has_agents'
        throw err
      }
    },
  }
}
