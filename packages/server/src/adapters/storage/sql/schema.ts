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

export interface Database {
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
}
