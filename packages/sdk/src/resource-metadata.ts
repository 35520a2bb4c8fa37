/** RFC 9728 §2 protected resource metadata, in camelCase; the JSON uses the RFC's names. */
export interface ProtectedResourceMetadataOptions {
  /** The resource identifier: an https URL without a fragment (RFC 9728 §1.2). Tokens for it carry it as `aud`. */
  resource: string
  /** Issuers whose tokens this resource accepts (authorization_servers). */
  authorizationServers?: readonly string[]
  scopesSupported?: readonly string[]
  /** RFC 6750 methods; ['header'] by default, the only one the SDK's middleware reads. */
  bearerMethodsSupported?: readonly ('header' | 'body' | 'query')[]
  resourceName?: string
  resourceDocumentation?: string
  resourcePolicyUri?: string
  resourceTosUri?: string
  /** JWS algorithms the resource accepts for access tokens. */
  resourceSigningAlgValuesSupported?: readonly string[]
  /** Further members (RFC 9728 §2 allows extensions). */
  extra?: Record<string, unknown>
}

/** The JSON document to serve at protectedResourceMetadataPath(resource). */
export function protectedResourceMetadata(o: ProtectedResourceMetadataOptions): Record<string, unknown> {
  const url = new URL(o.resource)
  // RFC 9728 §1.2: the resource identifier has no fragment.
  if (url.hash !== '') throw new TypeError('protectedResourceMetadata: resource must not have a fragment')
  const doc: Record<string, unknown> = { ...o.extra, resource: o.resource }
  const put = (name: string, v: unknown) => {
    if (v !== undefined) doc[name] = Array.isArray(v) ? [...v] : v
  }
  put('authorization_servers', o.authorizationServers)
  put('scopes_supported', o.scopesSupported)
  put('bearer_methods_supported', o.bearerMethodsSupported ?? ['header'])
  put('resource_name', o.resourceName)
  put('resource_documentation', o.resourceDocumentation)
  put('resource_policy_uri', o.resourcePolicyUri)
  put('resource_tos_uri', o.resourceTosUri)
  put('resource_signing_alg_values_supported', o.resourceSigningAlgValuesSupported)
  return doc
}

/**
 * RFC 9728 §3.1: the well-known segment goes between the host and the resource's path (a
 * terminating slash removed): `https://api.example/loans` → `/.well-known/oauth-protected-resource/loans`.
 */
export function protectedResourceMetadataPath(resource: string): string {
  const u = new URL(resource)
  const path = u.pathname === '/' ? '' : u.pathname.replace(/\/$/, '')
  return `/.well-known/oauth-protected-resource${path}${u.search}`
}

/** The absolute URL of the metadata, for the `resource_metadata` challenge parameter (RFC 9728 §5.1). */
export function protectedResourceMetadataUrl(resource: string): string {
  return new URL(protectedResourceMetadataPath(resource), new URL(resource).origin).toString()
}
