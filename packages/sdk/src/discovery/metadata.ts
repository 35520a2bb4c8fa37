import { MandateError } from '../errors.js'
import { IDEMPOTENT, type Transport } from '../http/transport.js'

/** The RFC 8414 members the SDK uses, plus Mandate's extension members (RFC 8414 §2 allows them). */
export interface ServerMetadata {
  issuer: string
  token_endpoint: string
  jwks_uri: string
  registration_endpoint?: string
  introspection_endpoint?: string
  revocation_endpoint?: string
  mandate_sessions_endpoint?: string
  mandate_revocations_endpoint?: string
  mandate_revocations_stream_endpoint?: string
  [member: string]: unknown
}

const URL_MEMBERS = ['token_endpoint', 'jwks_uri', 'registration_endpoint', 'introspection_endpoint', 'revocation_endpoint', 'mandate_sessions_endpoint', 'mandate_revocations_endpoint', 'mandate_revocations_stream_endpoint'] as const

export type EndpointName = (typeof URL_MEMBERS)[number]

/**
 * RFC 8414 §3.1: the well-known segment goes between the host and the issuer's path
 * (`https://as.example/.well-known/oauth-authorization-server/tenant`); for an issuer without a
 * path that is `{issuer}/.well-known/oauth-authorization-server`.
 */
export function metadataUrl(issuer: string): string {
  const u = new URL(issuer)
  const path = u.pathname === '/' ? '' : u.pathname.replace(/\/$/, '')
  return `${u.origin}/.well-known/oauth-authorization-server${path}`
}

/** Fetches and checks the metadata document; one retrying GET. */
export async function fetchMetadata(issuer: string, transport: Transport, url = metadataUrl(issuer)): Promise<ServerMetadata> {
  const doc = await transport.request<Record<string, unknown>>(url, { method: 'GET', headers: { accept: 'application/json' } }, IDEMPOTENT)
  // RFC 8414 §3.3: the issuer in the document must be identical to the one we were configured with,
  // or a document planted elsewhere could redirect us to another server's endpoints.
  if (doc.issuer !== issuer) {
    throw new MandateError({ error: 'invalid_issuer', errorDescription: `metadata at ${url} names issuer ${JSON.stringify(doc.issuer)}, expected ${JSON.stringify(issuer)}`, status: 0 })
  }
  for (const m of URL_MEMBERS) {
    const v = doc[m]
    if (v === undefined) continue
    if (typeof v !== 'string' || !isHttpUrl(v)) throw new MandateError({ error: 'invalid_response', errorDescription: `metadata member ${m} is not a URL`, status: 0 })
  }
  if (typeof doc.token_endpoint !== 'string' || typeof doc.jwks_uri !== 'string') {
    throw new MandateError({ error: 'invalid_response', errorDescription: 'metadata lacks token_endpoint or jwks_uri', status: 0 })
  }
  return doc as ServerMetadata
}

function isHttpUrl(v: string): boolean {
  try {
    const u = new URL(v)
    return u.protocol === 'https:' || u.protocol === 'http:'
  } catch {
    return false
  }
}

/**
 * Metadata fetched once and shared; a failed fetch is not cached, so the next call tries again.
 */
export class Discovery {
  private pending: Promise<ServerMetadata> | undefined

  constructor(
    readonly issuer: string,
    private readonly transport: Transport,
    private readonly url?: string,
  ) {}

  metadata(): Promise<ServerMetadata> {
    if (!this.pending) {
      const p = fetchMetadata(this.issuer, this.transport, this.url)
      this.pending = p
      p.catch(() => {
        if (this.pending === p) this.pending = undefined
      })
    }
    return this.pending
  }

  /** An endpoint's URL, or an error saying the server does not offer it. */
  async endpoint(name: EndpointName): Promise<string> {
    const md = await this.metadata()
    const v = md[name]
    if (typeof v !== 'string') throw new MandateError({ error: 'unsupported_endpoint', errorDescription: `the authorization server does not advertise ${name}`, status: 0 })
    return v
  }
}
