import type { Generated } from 'kysely'

/** Table shapes as the SQL layer sees them. Timestamps are ms since the epoch. Flags are 0/1. */
export interface RolesTable {
  name: string
  scopes: string
  token_ttl_seconds: number
  max_agents: number | null
  lifecycle: string
  agent_ttl_seconds: number | null
  can_introspect: number
  version: number
  live_agents: number
  created_at: number
  updated_at: number
  max_session_seconds: number
  health_check_hosts: string
  rate_limit_per_second: number
  rate_limit_burst: number
  /** JSON: [{ id, description, lawful_basis }]. */
  purposes: string
}

export interface InitialAccessTokensTable {
  id: string
  digest: string
  role: string
  uses_left: number
  uses_total: number
  expires_at: number
  created_at: number
  created_by: string
}

export interface AgentsTable {
  id: string
  role: string
  role_version: number
  status: string
  status_reason: string | null
  secret_digest: string
  secret_expires_at: number | null
  registration_token_digest: string
  auth_method: string
  scopes: string
  grant_types: string
  metadata: string
  initial_access_token_id: string | null
  tokens_not_before: number | null
  created_at: number
  updated_at: number
}

export interface SigningKeysTable {
  kid: string
  domain: string
  alg: string
  public_jwk: string
  private_jwe: string
  state: string
  created_at: number
  publish_until: number | null
}

export interface AdminCredentialsTable {
  id: string
  digest: string
  label: string
  created_at: number
}

export interface RevokedTokensTable {
  jti: string
  client_id: string
  expires_at: number
  revoked_at: number
}

export interface AuditStreamsTable {
  id: string
  started_at: number
  head_seq: number
  head_hash: string
}

export interface AuditEventsTable {
  id: string
  stream_id: string
  seq: number
  ts: number
  actor_type: string
  actor_id: string | null
  action: string
  outcome: string
  reason: string | null
  target: string | null
  role: string | null
  ip: string | null
  request_id: string | null
  details: string
  prev_hash: string
  hash: string
}

export interface SessionsTable {
  id: string
  agent_id: string
  role: string
  task: string
  label: string | null
  duration_seconds: number | null
  state: string
  outcome: string | null
  end_reason: string | null
  scope: string
  audience: string | null
  heartbeat_interval_seconds: number
  heartbeat_grace_seconds: number
  heartbeat_deadline: number
  due_at: number
  last_heartbeat_at: number | null
  heartbeat_count: Generated<number>
  progress: number | null
  note: string | null
  health_check_url: string | null
  next_probe_at: number | null
  max_expires_at: number
  created_at: number
  ended_at: number | null
}

export interface RefreshTokensTable {
  digest: string
  session_id: string
  created_at: number
  rotated_at: number | null
}

export interface RevocationFeedTable {
  seq: Generated<number>
  type: string
  value: string
  revoked_at: number
  until: number
}

export interface UsersTable {
  id: string
  username: string
  username_key: string
  display_name: string
  password_hash: string
  status: string
  status_reason: string | null
  created_at: number
  updated_at: number
}

export interface UserSessionsTable {
  id: string
  digest: string
  user_id: string
  ip: string | null
  created_at: number
  last_seen_at: number
  idle_expires_at: number
  absolute_expires_at: number
  ended_at: number | null
  end_reason: string | null
}

/** A person's consent to an agent (or to every agent of a role); scopes and purposes are JSON. */
export interface ConsentsTable {
  id: string
  user_id: string
  /** null: the consent covers every agent of the role. */
  agent_id: string | null
  agent_name: string | null
  role_name: string
  role_version: number
  scopes: string
  purposes: string
  text_digest: string
  granted_at: number
  expires_at: number
  withdrawn_at: number | null
}

export interface DeviceCodesTable {
  id: string
  code_digest: string
  user_code: string
  client_id: string
  /** JSON array of scope tokens. */
  scope: string
  /** JSON array of resources, or null. */
  audience: string | null
  status: string
  user_id: string | null
  consent_id: string | null
  auth_time: number | null
  interval_seconds: number
  last_polled_at: number | null
  created_at: number
  expires_at: number
  decided_at: number | null
  consumed_at: number | null
}

/** An authorization code by digest, and what it is bound to (scope and audience are JSON). */
export interface AuthorizationCodesTable {
  digest: string
  id: string
  agent_id: string
  redirect_uri: string
  redirect_uri_sent: number
  code_challenge: string | null
  nonce: string | null
  scope: string
  audience: string | null
  user_id: string
  consent_id: string
  auth_time: number
  created_at: number
  expires_at: number
  consumed_at: number | null
  grant_id: string | null
}

/** A person's grant to an agent (scope and audience are JSON). */
export interface PersonGrantsTable {
  id: string
  user_id: string
  agent_id: string
  role: string
  consent_id: string
  scope: string
  audience: string | null
  auth_time: number
  state: string
  end_reason: string | null
  expires_at: number
  created_at: number
  ended_at: number | null
}

export interface GrantRefreshTokensTable {
  digest: string
  grant_id: string
  created_at: number
  rotated_at: number | null
}

export interface AnsweredConsentFormsTable {
  /** The sealed request's id: a consent form is answered at most once. */
  form_id: string
  answered_at: number
  keep_until: number
}

export interface Database {
  answered_consent_forms: AnsweredConsentFormsTable
  authorization_codes: AuthorizationCodesTable
  person_grants: PersonGrantsTable
  grant_refresh_tokens: GrantRefreshTokensTable
  roles: RolesTable
  initial_access_tokens: InitialAccessTokensTable
  agents: AgentsTable
  signing_keys: SigningKeysTable
  admin_credentials: AdminCredentialsTable
  revoked_tokens: RevokedTokensTable
  audit_streams: AuditStreamsTable
  audit_events: AuditEventsTable
  sessions: SessionsTable
  refresh_tokens: RefreshTokensTable
  revocation_feed: RevocationFeedTable
  users: UsersTable
  user_sessions: UserSessionsTable
  device_codes: DeviceCodesTable
  consents: ConsentsTable
}
