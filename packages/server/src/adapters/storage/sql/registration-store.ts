import type { Kysely, Selectable } from 'kysely'
import type { InitialAccessToken, RegistrationStore } from '../../../ports/registration-store.js'
import { agentToRow } from './agent-repo.js'
import { roleFromRow } from './role-repo.js'
import type { Database, InitialAccessTokensTable } from './schema.js'

function iatFromRow(r: Selectable<InitialAccessTokensTable>): InitialAccessToken {
  return {
    id: r.id,
    role: r.role,
    digest: r.digest,
    usesLeft: r.uses_left,
    usesTotal: r.uses_total,
    expiresAt: r.expires_at,
    createdAt: r.created_at,
    createdBy: r.created_by,
  }
}

export function sqlRegistrationStore(db: Kysely<Database>): RegistrationStore {
  return {
    async createInitialAccessToken(t) {
      await db
        .insertInto('initial_access_tokens')
        .values({ id: t.id, digest: t.digest, role: t.role, uses_left: t.usesLeft, uses_total: t.usesTotal, expires_at: t.expiresAt, created_at: t.createdAt, created_by: t.createdBy })
        .execute()
    },

    async listInitialAccessTokens(role, now) {
      const rows = await db
        .selectFrom('initial_access_tokens')
        .selectAll()
        .where('role', '=', role)
        .where('uses_left', '>', 0)
        .where('expires_at', '>', now)
        .orderBy('created_at')
        .execute()
      return rows.map(iatFromRow)
    },

    async revokeInitialAccessToken(role, id) {
      const gone = await db.deleteFrom('initial_access_tokens').where('role', '=', role).where('id', '=', id).returning('id').executeTakeFirst()
      return gone !== undefined
    },

    async register(tokenDigest, now, build) {
      type Result = Awaited<ReturnType<RegistrationStore['register']>>
      // A refusal after the token was consumed must roll the consumption back, so it is
      // signalled by throwing out of the transaction and caught below.
      class Refused extends Error {
        constructor(readonly result: Result) {
          super('refused')
        }
      }
      try {
        return await db.transaction().execute(async (trx): Promise<Result> => {
          // Consume one use atomically: never check-then-act.
          const iat = await trx
            .updateTable('initial_access_tokens')
            .set((eb) => ({ uses_left: eb('uses_left', '-', 1) }))
            .where('digest', '=', tokenDigest)
            .where('uses_left', '>', 0)
            .where('expires_at', '>', now)
            .returningAll()
            .executeTakeFirst()
          if (!iat) return { status: 'invalid_token' }
          // Take a slot under max_agents; the row lock serialises concurrent registrations.
          const roleRow = await trx
            .updateTable('roles')
            .set((eb) => ({ live_agents: eb('live_agents', '+', 1) }))
            .where('name', '=', iat.role)
            .where((eb) => eb.or([eb('max_agents', 'is', null), eb('live_agents', '<', eb.ref('max_agents'))]))
            .returningAll()
            .executeTakeFirst()
          if (!roleRow) throw new Refused({ status: 'role_full', role: iat.role })
          const role = roleFromRow(roleRow)
          const agent = build(role, iatFromRow(iat))
          await trx.insertInto('agents').values(agentToRow(agent)).execute()
          return { status: 'ok', agent, role }
        })
      } catch (err) {
        if (err instanceof Refused) return err.result
        throw err
      }
    },
  }
}
