import { sqlAdminCredentialRepo } from './admin-credential-repo.js'
import { sqlAgentRepo } from './agent-repo.js'
import { sqlAuditStore } from './audit-store.js'
import { sqlAuthorizationRepo } from './authorization-repo.js'
import { sqlConsentRepo } from './consent-repo.js'
import { sqlConsentFormRepo } from './consent-form-repo.js'
import { sqlKeyStore } from './key-store.js'
import { sqlRegistrationStore } from './registration-store.js'
import { sqlRevocationFeed } from './revocation-feed.js'
import { sqlRevocationRepo } from './revocation-repo.js'
import { sqlRoleRepo } from './role-repo.js'
import { sqlSessionRepo } from './session-repo.js'
import { sqlUserRepo } from './user-repo.js'
import { sqlUserSessionRepo } from './user-session-repo.js'
import { sqlDeviceCodeRepo } from './device-code-repo.js'
import type { OpenDatabase } from './database.js'

export { openDatabase, DatabaseUnavailable, type OpenDatabase, type Engine } from './database.js'

/** Every storage port, implemented over one Kysely instance (SQLite or PostgreSQL). */
export function sqlStorage({ db, engine, batch }: Pick<OpenDatabase, 'db' | 'engine' | 'batch'>) {
  return {
    roles: sqlRoleRepo(db),
    agents: sqlAgentRepo(db),
    registrations: sqlRegistrationStore(db),
    revocations: sqlRevocationRepo(db),
    revocationFeed: sqlRevocationFeed(db),
    sessions: sqlSessionRepo(db),
    keys: sqlKeyStore(db),
    adminCredentials: sqlAdminCredentialRepo(db),
    audit: sqlAuditStore(db, engine, batch),
    users: sqlUserRepo(db),
    userSessions: sqlUserSessionRepo(db),
    authorizations: sqlAuthorizationRepo(db),
    deviceCodes: sqlDeviceCodeRepo(db),
    consents: sqlConsentRepo(db),
    consentForms: sqlConsentFormRepo(db),
  }
}

export type Storage = ReturnType<typeof sqlStorage>
