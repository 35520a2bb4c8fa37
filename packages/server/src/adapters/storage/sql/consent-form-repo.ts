import type { Kysely } from 'kysely'
import type { ConsentFormRepo } from '../../../ports/consent-form-repo.js'
import type { Database } from './schema.js'

export function sqlConsentFormRepo(db: Kysely<Database>): ConsentFormRepo {
  return {
    async claim(formId, answeredAt, keepUntil) {
      // One statement decides: the primary key lets exactly one of concurrent answers in, on any node.
      const row = await db
        .insertInto('answered_consent_forms')
        .values({ form_id: formId, answered_at: answeredAt, keep_until: keepUntil })
        .onConflict((oc) => oc.column('form_id').doNothing())
        .returning('form_id')
        .executeTakeFirst()
      return row !== undefined
    },

    async purge(before) {
      const res = await db.deleteFrom('answered_consent_forms').where('keep_until', '<', before).executeTakeFirst()
      return Number(res.numDeletedRows)
    },
  }
}
