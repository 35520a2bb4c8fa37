/** RFC 8414 §2 authorization server metadata; the same document serves OpenID discovery. */
export function serverMetadata(issuer: string): Record<string, unknown> {
  return {
    issuer,
    token_endpoint: `${issuer}/token`,
    jwks_uri: `${issuer}/jwks`,
    registration_endpoint: `${issuer}/register`,
    introspection_endpoint: `${issuer}/introspect`,
    revocation_endpoint: `${issuer}/revoke`,
    // Extension members (RFC 8414 §2 allows them): task-bound sessions and the revocation feed.
    mandate_sessions_endpoint: `${issuer}/sessions`,
    mandate_revocations_endpoint: `${issuer}/revocations`,
    mandate_revocations_stream_endpoint: `${issuer}/revocations/stream`,
    // scopes_supported is left out: scopes are defined per role, and an empty list would say "none".
    response_types_supported: [],
    grant_types_supported: ['client_credentials', 'refresh_token'],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    // Not registered in RFC 8414; tells resource servers how RFC 9068 access tokens are signed.
    access_token_signing_alg_values_supported: ['ES256'],
    id_token_signing_alg_values_supported: ['ES256'],
    subject_types_supported: ['public'],
  }
}
