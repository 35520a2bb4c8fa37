import { PostgresAdapter, sql, type Kysely, type Migration, type MigrationProvider } from 'kysely'

/**
 * Migrations shared by SQLite and PostgreSQL: only portable column types (text, integer,
 * bigint, double precision), so one list serves both engines; the one auto-increment column
 * is spelled per engine. Append new migrations; never edit an applied one.
 */
const migrations: Record<string, Migration> = {
  '0001_core': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('roles')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('scopes', 'text', (c) => c.notNull())
        .addColumn('token_ttl_seconds', 'integer', (c) => c.notNull())
        .addColumn('max_agents', 'integer')
        .addColumn('lifecycle', 'text', (c) => c.notNull())
        .addColumn('agent_ttl_seconds', 'integer')
        .addColumn('can_introspect', 'integer', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('live_agents', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute()

      await db.schema
        .createTable('initial_access_tokens')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('digest', 'text', (c) => c.notNull().unique())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('uses_left', 'integer', (c) => c.notNull())
        .addColumn('uses_total', 'integer', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .execute()
      await db.schema.createIndex('initial_access_tokens_role').on('initial_access_tokens').column('role').execute()

      await db.schema
        .createTable('agents')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('role_version', 'integer', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('status_reason', 'text')
        .addColumn('secret_digest', 'text', (c) => c.notNull())
        .addColumn('secret_expires_at', 'bigint')
        .addColumn('registration_token_digest', 'text', (c) => c.notNull())
        .addColumn('auth_method', 'text', (c) => c.notNull())
        .addColumn('scopes', 'text', (c) => c.notNull())
        .addColumn('grant_types', 'text', (c) => c.notNull())
        .addColumn('metadata', 'text', (c) => c.notNull())
        .addColumn('initial_access_token_id', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute()
      await db.schema.createIndex('agents_role_status').on('agents').columns(['role', 'status']).execute()

      await db.schema
        .createTable('signing_keys')
        .addColumn('kid', 'text', (c) => c.primaryKey())
        .addColumn('domain', 'text', (c) => c.notNull())
        .addColumn('alg', 'text', (c) => c.notNull())
        .addColumn('public_jwk', 'text', (c) => c.notNull())
        .addColumn('private_jwe', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('publish_until', 'bigint')
        .execute()
      await db.schema.createIndex('signing_keys_domain').on('signing_keys').columns(['domain', 'state']).execute()
      // At most one signer per key domain, whatever races between nodes.
      await db.schema.createIndex('signing_keys_one_active').on('signing_keys').column('domain').unique().where(sql.ref('state'), '=', sql.lit('active')).execute()

      await db.schema
        .createTable('admin_credentials')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('digest', 'text', (c) => c.notNull().unique())
        .addColumn('label', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute()

      await db.schema
        .createTable('revoked_tokens')
        .addColumn('jti', 'text', (c) => c.primaryKey())
        .addColumn('client_id', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('revoked_at', 'bigint', (c) => c.notNull())
        .execute()

      await db.schema
        .createTable('audit_streams')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('started_at', 'bigint', (c) => c.notNull())
        .addColumn('head_seq', 'integer', (c) => c.notNull())
        .addColumn('head_hash', 'text', (c) => c.notNull())
        .execute()

      await db.schema
        .createTable('audit_events')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('stream_id', 'text', (c) => c.notNull())
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('ts', 'bigint', (c) => c.notNull())
        .addColumn('actor_type', 'text', (c) => c.notNull())
        .addColumn('actor_id', 'text')
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('reason', 'text')
        .addColumn('target', 'text')
        .addColumn('role', 'text')
        .addColumn('ip', 'text')
        .addColumn('request_id', 'text')
        .addColumn('details', 'text', (c) => c.notNull())
        .addColumn('prev_hash', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .addUniqueConstraint('audit_events_stream_seq', ['stream_id', 'seq'])
        .execute()
      await db.schema.createIndex('audit_events_ts').on('audit_events').columns(['ts', 'id']).execute()
      await db.schema.createIndex('audit_events_actor').on('audit_events').columns(['actor_id', 'ts']).execute()
      await db.schema.createIndex('audit_events_action').on('audit_events').columns(['action', 'ts']).execute()
    },
  },
  '0002_agent_tokens_not_before': {
    // Suspension revokes every token issued before it, so resuming does not bring them back.
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('agents').addColumn('tokens_not_before', 'bigint').execute()
    },
  },
  '0003_audit_target_index': {
    // GET /admin/audit?target=… : what happened to one agent, role or token.
    async up(db: Kysely<unknown>) {
      await db.schema.createIndex('audit_events_target').on('audit_events').columns(['target', 'ts']).execute()
    },
  },
  '0004_signing_keys_one_next': {
    // Publish-ahead rotation: at most one standby key per domain, whatever races between nodes.
    async up(db: Kysely<unknown>) {
      await db.schema.createIndex('signing_keys_one_next').on('signing_keys').column('domain').unique().where(sql.ref('state'), '=', sql.lit('next')).execute()
    },
  },
  '0005_sessions': {
    // Task-bound sessions, their rotating refresh tokens, and the revocation feed for resource servers.
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('roles').addColumn('max_session_seconds', 'bigint', (c) => c.notNull().defaultTo(604_800)).execute()
      await db.schema.alterTable('roles').addColumn('health_check_hosts', 'text', (c) => c.notNull().defaultTo('[]')).execute()
      await db.schema
        .createTable('sessions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('agent_id', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('task', 'text', (c) => c.notNull())
        .addColumn('label', 'text')
        .addColumn('duration_seconds', 'bigint')
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('outcome', 'text')
        .addColumn('end_reason', 'text')
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('audience', 'text')
        .addColumn('heartbeat_interval_seconds', 'integer', (c) => c.notNull())
        .addColumn('heartbeat_grace_seconds', 'integer', (c) => c.notNull())
        .addColumn('heartbeat_deadline', 'bigint', (c) => c.notNull())
        // min(heartbeat_deadline, max_expires_at): when the session ends unless something happens.
        .addColumn('due_at', 'bigint', (c) => c.notNull())
        .addColumn('last_heartbeat_at', 'bigint')
        .addColumn('heartbeat_count', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('progress', 'double precision')
        .addColumn('note', 'text')
        .addColumn('health_check_url', 'text')
        .addColumn('next_probe_at', 'bigint')
        .addColumn('max_expires_at', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('ended_at', 'bigint')
        .execute()
      await db.schema.createIndex('sessions_due').on('sessions').columns(['state', 'due_at']).execute()
      await db.schema.createIndex('sessions_probe').on('sessions').columns(['state', 'next_probe_at']).execute()
      await db.schema.createIndex('sessions_agent').on('sessions').columns(['agent_id', 'id']).execute()
      await db.schema.createIndex('sessions_role').on('sessions').columns(['role', 'id']).execute()
      await db.schema
        .createTable('refresh_tokens')
        .addColumn('digest', 'text', (c) => c.primaryKey())
        .addColumn('session_id', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('rotated_at', 'bigint')
        .execute()
      await db.schema.createIndex('refresh_tokens_session').on('refresh_tokens').column('session_id').execute()
      // The feed's cursor is its sequence number, so each engine gets its own auto-increment.
      const postgres = db.getExecutor().adapter instanceof PostgresAdapter
      await db.schema
        .createTable('revocation_feed')
        .addColumn('seq', postgres ? 'bigserial' : 'integer', (c) => (postgres ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('value', 'text', (c) => c.notNull())
        .addColumn('revoked_at', 'bigint', (c) => c.notNull())
        .addColumn('until', 'bigint', (c) => c.notNull())
        .execute()
      await db.schema.createIndex('revocation_feed_until').on('revocation_feed').column('until').execute()
    },
  },
  '0006_role_rate_limits': {
    // Each role sizes its agents' token buckets; existing roles get the default (50/s, burst 100).
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('roles').addColumn('rate_limit_per_second', 'double precision', (c) => c.notNull().defaultTo(50)).execute()
      await db.schema.alterTable('roles').addColumn('rate_limit_burst', 'integer', (c) => c.notNull().defaultTo(100)).execute()
    },
  },
  '0007_users': {
    // People who sign in with a password, and their browser sessions (idle and absolute timeouts).
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('users')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('username', 'text', (c) => c.notNull())
        // NFKC + lower case: "Alice", "ALICE" and "Ａｌｉｃｅ" are one person.
        .addColumn('username_key', 'text', (c) => c.notNull().unique())
        .addColumn('display_name', 'text', (c) => c.notNull())
        .addColumn('password_hash', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('status_reason', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute()
      await db.schema.createIndex('users_status').on('users').columns(['status', 'id']).execute()
      await db.schema
        .createTable('user_sessions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        // SHA-256 of the cookie's secret; the secret itself is never stored.
        .addColumn('digest', 'text', (c) => c.notNull().unique())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('ip', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
        .addColumn('idle_expires_at', 'bigint', (c) => c.notNull())
        .addColumn('absolute_expires_at', 'bigint', (c) => c.notNull())
        .addColumn('ended_at', 'bigint')
        .addColumn('end_reason', 'text')
        .execute()
      await db.schema.createIndex('user_sessions_user').on('user_sessions').columns(['user_id', 'ended_at']).execute()
      await db.schema.createIndex('user_sessions_idle').on('user_sessions').column('idle_expires_at').execute()
    },
  },
  '0010_device_codes': {
    // RFC 8628 device authorization requests: the device code as a digest, the user code a person types.
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('device_codes')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('code_digest', 'text', (c) => c.notNull().unique())
        .addColumn('user_code', 'text', (c) => c.notNull())
        .addColumn('client_id', 'text', (c) => c.notNull())
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('audience', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text')
        .addColumn('consent_id', 'text')
        .addColumn('auth_time', 'bigint')
        .addColumn('interval_seconds', 'integer', (c) => c.notNull())
        .addColumn('last_polled_at', 'bigint')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('decided_at', 'bigint')
        .addColumn('consumed_at', 'bigint')
        .execute()
      // A user code names one pending request; decided ones give theirs back (a partial index on both engines).
      await db.schema.createIndex('device_codes_pending_user_code').on('device_codes').column('user_code').unique().where(sql.ref('status'), '=', 'pending').execute()
      await db.schema.createIndex('device_codes_expires').on('device_codes').column('expires_at').execute()
    },
  },
  '0008_consents': {
    // Roles declare their purposes (GDPR Art. 6(1) lawful bases); people's consents to agents.
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('roles').addColumn('purposes', 'text', (c) => c.notNull().defaultTo('[]')).execute()
      await db.schema
        .createTable('consents')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull())
        // null: every agent of the role.
        .addColumn('agent_id', 'text')
        .addColumn('agent_name', 'text')
        .addColumn('role_name', 'text', (c) => c.notNull())
        .addColumn('role_version', 'integer', (c) => c.notNull())
        .addColumn('scopes', 'text', (c) => c.notNull())
        .addColumn('purposes', 'text', (c) => c.notNull())
        // SHA-256 of exactly the words the consent page showed.
        .addColumn('text_digest', 'text', (c) => c.notNull())
        .addColumn('granted_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('withdrawn_at', 'bigint')
        .execute()
      await db.schema.createIndex('consents_user').on('consents').columns(['user_id', 'role_name']).execute()
      await db.schema.createIndex('consents_agent').on('consents').columns(['agent_id']).execute()
    },
  },
  '0009_authorizations': {
    // People's grants to agents: authorization codes (by digest), grants, and their rotating refresh tokens.
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('authorization_codes')
        // SHA-256 of the code; the code itself is never stored.
        .addColumn('digest', 'text', (c) => c.primaryKey())
        .addColumn('id', 'text', (c) => c.notNull().unique())
        .addColumn('agent_id', 'text', (c) => c.notNull())
        .addColumn('redirect_uri', 'text', (c) => c.notNull())
        .addColumn('redirect_uri_sent', 'integer', (c) => c.notNull())
        .addColumn('code_challenge', 'text')
        .addColumn('nonce', 'text')
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('audience', 'text')
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('consent_id', 'text', (c) => c.notNull())
        .addColumn('auth_time', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('consumed_at', 'bigint')
        .addColumn('grant_id', 'text')
        .execute()
      await db.schema.createIndex('authorization_codes_consent').on('authorization_codes').columns(['consent_id', 'consumed_at']).execute()
      await db.schema.createIndex('authorization_codes_expires').on('authorization_codes').column('expires_at').execute()
      await db.schema
        .createTable('person_grants')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('agent_id', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('consent_id', 'text', (c) => c.notNull())
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('audience', 'text')
        .addColumn('auth_time', 'bigint', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('end_reason', 'text')
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('ended_at', 'bigint')
        .execute()
      await db.schema.createIndex('person_grants_consent').on('person_grants').columns(['consent_id', 'state']).execute()
      await db.schema.createIndex('person_grants_user').on('person_grants').columns(['user_id', 'id']).execute()
      await db.schema
        .createTable('grant_refresh_tokens')
        .addColumn('digest', 'text', (c) => c.primaryKey())
        .addColumn('grant_id', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('rotated_at', 'bigint')
        .execute()
      await db.schema.createIndex('grant_refresh_tokens_grant').on('grant_refresh_tokens').column('grant_id').execute()
    },
  },
  '0011_answered_consent_forms': {
    // A consent form is answered once: its sealed request's id is recorded with the answer (kept until the form expires).
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('answered_consent_forms')
        .addColumn('form_id', 'text', (c) => c.primaryKey())
        .addColumn('answered_at', 'bigint', (c) => c.notNull())
        .addColumn('keep_until', 'bigint', (c) => c.notNull())
        .execute()
      await db.schema.createIndex('answered_consent_forms_keep_until').on('answered_consent_forms').column('keep_until').execute()
    },
  },
}

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
}
