import type { Kysely } from 'kysely'
import type { InitialAccessToken, RegistrationStore } from '../../../ports/registration-store.js'
import { agentToRow } from './agent-repo.js'
import { roleFromRow } from './role-repo.js'
import type { Database } from './schema.js'

export function sqlRegistrationStore(db: Kysely<Database>): RegistrationStore {
  return {
    async createInitialAccessToken(t) {
      await db
        .insertInto('initial_access_tokens')
        .values({ id: t.id, digest: t.digest, role: t.role, uses_left: t.usesLeft, uses_total: t.usesTotal, expires_at: t.expiresAt, created_at: t.createdAt, created_by: t.createdBy })
        .execute()
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
          const token: InitialAccessToken = {
            id: iat.id,
            role: iat.role,
            digest: iat.digest,
            usesLeft: iat.uses_left,
            usesTotal: iat.uses_total,
            expiresAt: iat.expires_at,
            createdAt: iat.created_at,
            createdBy: iat.created_by,
          }
          const agent = build(role, token)
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
