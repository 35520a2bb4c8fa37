import { Discovery, type ServerMetadata } from '../discovery/metadata.js'
import type { RetryPolicy } from '../http/retry.js'
import { Transport, type FetchLike } from '../http/transport.js'
import { consoleLogger, type Logger } from '../logger.js'
import { Agent, type AgentCredentials, type RegisteredAgent } from './agent.js'
import type { ClientContext } from './context.js'
import { register, type RegisterAgentOptions } from './registration.js'

export interface MandateOptions {
  /** The issuer identifier, exactly as the server's metadata states it (RFC 8414 §3.3). */
  issuer: string
  /** A fetch to use instead of the global one (a proxy agent, a test counter). */
  fetch?: FetchLike
  retry?: Partial<RetryPolicy>
  logger?: Logger
  /** Where the metadata document is, when not at the RFC 8414 §3.1 well-known URL. */
  metadataUrl?: string
}

/** Entry point for agents: discovers the server, registers agents, builds agent handles. */
export class Mandate {
  readonly issuer: string
  private readonly ctx: ClientContext

  constructor(options: MandateOptions) {
    const transport = new Transport({ fetch: options.fetch, retry: options.retry })
    this.issuer = options.issuer
    this.ctx = { issuer: options.issuer, transport, discovery: new Discovery(options.issuer, transport, options.metadataUrl), logger: options.logger ?? consoleLogger }
  }

  /** The server's RFC 8414 metadata (fetched once). */
  metadata(): Promise<ServerMetadata> {
    return this.ctx.discovery.metadata()
  }

  /** Self-registration (RFC 7591) under the role the initial access token is for; `agent.registration` holds the credentials. */
  async registerAgent(options: RegisterAgentOptions): Promise<RegisteredAgent> {
    const registration = await register(this.ctx, options)
    return new Agent(this.ctx, registration, registration) as RegisteredAgent
  }

  /** An agent registered earlier. */
  agent(credentials: AgentCredentials): Agent {
    return new Agent(this.ctx, credentials)
  }
}
