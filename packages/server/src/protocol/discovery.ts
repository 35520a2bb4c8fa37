import { OIDC_SCOPES, SUPPORTED_CLAIMS } from './oidc/claims.js'

/** RFC 8414 §2 authorization server metadata; the same document serves OpenID discovery. */
export function serverMetadata(issuer: string): Record<string, unknown> {
  return {
    issuer,
    authorization_endpoint: `${issuer}/authorize`,
    token_endpoint: `${issuer}/token`,
    jwks_uri: `${issuer}/jwks`,
    registration_endpoint: `${issuer}/register`,
    introspection_endpoint: `${issuer}/introspect`,
    revocation_endpoint: `${issuer}/revoke`,
    // RFC 8628 §4.
    device_authorization_endpoint: `${issuer}/device_authorization`,
    userinfo_endpoint: `${issuer}/userinfo`,
    // Extension members (RFC 8414 §2 allows them): task-bound sessions and the revocation feed.
    mandate_sessions_endpoint: `${issuer}/sessions`,
    mandate_revocations_endpoint: `${issuer}/revocations`,
    mandate_revocations_stream_endpoint: `${issuer}/revocations/stream`,
    // Only the OpenID scopes (OIDC Discovery 1.0 §3): agents' scopes are defined per role, and
    // RFC 8414 §2 lets a server leave supported scopes out of this list.
    scopes_supported: [...OIDC_SCOPES],
    // OAuth 2.1: the code flow only, PKCE with S256 only (RFC 7636 §4.3, RFC 8414 §2).
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    code_challenge_methods_supported: ['S256'],
    // RFC 9207 §3: every authorization response carries iss.
    authorization_response_iss_parameter_supported: true,
    grant_types_supported: ['authorization_code', 'client_credentials', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
    // none: public clients (RFC 7591 §2), for the code and refresh grants only.
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
    introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
    // Not registered in RFC 8414; tells resource servers how RFC 9068 access tokens are signed.
    access_token_signing_alg_values_supported: ['ES256'],
    id_token_signing_alg_values_supported: ['ES256'],
    subject_types_supported: ['public'],
    claims_supported: [...SUPPORTED_CLAIMS],
    // OpenID Connect Prompt Create 1.0 §4.1: the prompt values /authorize honours.
    prompt_values_supported: ['none', 'login', 'consent'],
    // OIDC Discovery 1.0 §3: request_uri support is assumed when omitted, so say none of these is offered.
    request_parameter_supported: false,
    request_uri_parameter_supported: false,
    claims_parameter_supported: false,
  }
}
