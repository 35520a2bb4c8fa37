import type { Selectable } from 'kysely'
import type { AuthorizationCode, PersonGrant } from '../../../ports/authorization-repo.js'
import type { AuthorizationCodesTable, PersonGrantsTable } from './schema.js'

export function codeFromRow(r: Selectable<AuthorizationCodesTable>): AuthorizationCode {
  return {
    id: r.id, agentId: r.agent_id, redirectUri: r.redirect_uri, redirectUriSent: r.redirect_uri_sent === 1,
    codeChallenge: r.code_challenge, nonce: r.nonce, scope: JSON.parse(r.scope) as string[],
    audience: r.audience === null ? null : (JSON.parse(r.audience) as string[]),
    userId: r.user_id, consentId: r.consent_id, authTime: r.auth_time, createdAt: r.created_at, expiresAt: r.expires_at,
    consumedAt: r.consumed_at, grantId: r.grant_id,
  }
}

export function grantFromRow(r: Selectable<PersonGrantsTable>): PersonGrant {
  return {
    id: r.id, userId: r.user_id, agentId: r.agent_id, role: r.role, consentId: r.consent_id, scope: JSON.parse(r.scope) as string[],
    audience: r.audience === null ? null : (JSON.parse(r.audience) as string[]), authTime: r.auth_time,
    state: r.state as PersonGrant['state'], endReason: r.end_reason, expiresAt: r.expires_at, createdAt: r.created_at, endedAt: r.ended_at,
  }
}

export function grantToRow(g: PersonGrant) {
  return {
    id: g.id, user_id: g.userId, agent_id: g.agentId, role: g.role, consent_id: g.consentId, scope: JSON.stringify(g.scope),
    audience: g.audience === null ? null : JSON.stringify(g.audience), auth_time: g.authTime, state: g.state, end_reason: g.endReason,
    expires_at: g.expiresAt, created_at: g.createdAt, ended_at: g.endedAt,
  }
}
