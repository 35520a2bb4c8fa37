import { purposesJson } from '../domain/agents/role-purposes.js'
import type { Consent, ConsentStatus } from '../ports/consent-repo.js'

/**
 * A consent receipt (snake_case), the same in the person's export and the admin API: who
 * consented to which agent (or role), for which scopes and purposes on which lawful basis, the
 * digest of the words they were shown, and when it was granted, expires and was withdrawn.
 */
export function consentReceiptJson(c: Consent, status: ConsentStatus) {
  return {
    consent_id: c.id,
    user_id: c.userId,
    agent_id: c.agentId,
    agent_name: c.agentName,
    role_wide: c.agentId === null,
    role: c.roleName,
    role_version: c.roleVersion,
    scopes: c.scopes,
    purposes: purposesJson(c.purposes),
    text_digest: c.textDigest,
    text_digest_algorithm: 'sha-256',
    granted_at: iso(c.grantedAt),
    expires_at: iso(c.expiresAt),
    withdrawn_at: c.withdrawnAt === null ? null : iso(c.withdrawnAt),
    status,
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString()
}
