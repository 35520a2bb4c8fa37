// Agent side
export { Mandate, type MandateOptions } from './agent/mandate.js'
export { Agent, type AgentCredentials, type ClientCredentialsOptions, type RegisteredAgent } from './agent/agent.js'
export type { RegisterAgentOptions, Registration } from './agent/registration.js'
export type { TokenSet } from './agent/token-response.js'
export { Session, type SessionEvents } from './session/session.js'
export type { HeartbeatReport } from './session/session-api.js'
export type { SessionInfo, SessionOutcome, SessionState, StartSessionOptions } from './session/wire.js'
export type { ServerMetadata } from './discovery/metadata.js'
export { metadataUrl } from './discovery/metadata.js'

// Errors
export { MandateError, MandateNetworkError, SessionEndedError, type EndedState } from './errors.js'
export { BearerError, VerificationError, VerifierUnavailableError, bearerChallenge, type BearerErrorCode, type ChallengeParams } from './verifier/errors.js'

// Resource-server side
export { createVerifier, type Verifier, type VerifierOptions, type VerifyOptions } from './verifier/verifier.js'
export type { AccessTokenClaims, ActorClaim } from './verifier/claims.js'
export type { WhenStale } from './verifier/staleness.js'
export { extractBearer } from './verifier/bearer-header.js'
export { withBearerAuth, sendRefusal, type Authenticated, type ResponseLike } from './middleware/node.js'
export { expressBearerAuth } from './middleware/express.js'
export { fastifyBearerAuth, type ReplyLike } from './middleware/fastify.js'
export type { RequestLike } from './middleware/respond.js'
export { protectedResourceMetadata, protectedResourceMetadataPath, protectedResourceMetadataUrl, type ProtectedResourceMetadataOptions } from './resource-metadata.js'

// Building blocks
export { SseParser, type SseItem } from './revocations/sse-parser.js'
export type { Revocation } from './revocations/revocation-set.js'
export type { FetchLike } from './http/transport.js'
export type { RetryPolicy } from './http/retry.js'
export type { ClientAuthMethod } from './http/client-auth.js'
export { consoleLogger, silentLogger, type Logger } from './logger.js'
