// The peer: node-oidc-provider (npm `oidc-provider`) configured as close to Mandate's agent
// token path as it goes. Started by bench/run.ts as its own process; prints one ready line:
//   PEER ready url=http://127.0.0.1:<port>
//
// Configuration, and where it differs from Mandate:
// - two confidential clients (client_secret_basic), from env: BENCH_CLIENT_ID/SECRET (the agent,
//   scopes read write) and BENCH_RS_ID/SECRET (a resource server that introspects). They are
//   static configuration, held in memory: no database lookup, no secret digest.
// - `client_credentials` with the resource indicators feature (RFC 8707): a `resource` yields an
//   ES256-signed JWT access token (`accessTokenFormat: 'jwt'`, RFC 9068 `typ: at+jwt`) with the
//   same claims as Mandate's (extraTokenClaims adds `actor_type` and `role`). JWT access tokens
//   are not stored by oidc-provider (nothing is written per token), and nothing is audited.
// - introspection works only on tokens oidc-provider stores, i.e. opaque ones: a
//   `client_credentials` request without `resource` gets an opaque token, held by the default
//   in-memory adapter, and that is what the introspection scenario introspects.
// - dynamic registration (RFC 7591) at /reg with a fixed initial access token
//   (BENCH_PEER_IAT), clients kept in the in-memory adapter.
// - one ES256 (P-256) signing key, generated at start.
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';

function env(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`oidc-provider peer: ${name} is not set`);
  return v;
}

const { privateKey } = await generateKeyPair('ES256', { extractable: true });
const signingJwk = { ...(await exportJWK(privateKey)), alg: 'ES256', use: 'sig', kid: 'peer-es256' };

const server = createServer();
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const address = server.address();
if (address === null || typeof address === 'string') throw new Error('no TCP address');
const issuer = `http://127.0.0.1:${address.port}`;

const clientDefaults = {
  grant_types: ['client_credentials'],
  response_types: [],
  redirect_uris: [],
  token_endpoint_auth_method: 'client_secret_basic',
};

const provider = new Provider(issuer, {
  clients: [
    { ...clientDefaults, client_id: env('BENCH_CLIENT_ID'), client_secret: env('BENCH_CLIENT_SECRET'), scope: 'read write' },
    { ...clientDefaults, client_id: env('BENCH_RS_ID'), client_secret: env('BENCH_RS_SECRET'), scope: 'read' },
  ],
  jwks: { keys: [signingJwk] },
  // The only key is EC P-256: clients (static and registered) default to ES256 everywhere.
  clientDefaults: { id_token_signed_response_alg: 'ES256' },
  scopes: ['read', 'write'],
  // Cookies are never set on these endpoints; a fixed key only silences the start-up warning.
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  ttl: { ClientCredentials: 300 },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    registration: { enabled: true, initialAccessToken: env('BENCH_PEER_IAT') },
    resourceIndicators: {
      enabled: true,
      defaultResource: async () => undefined,
      useGrantedResource: async () => false,
      getResourceServerInfo: async (_ctx: unknown, resource: string) => ({
        scope: 'read write',
        audience: resource,
        accessTokenTTL: 300,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'ES256' } },
      }),
    },
  },
  // Mandate's agent tokens carry these two claims too.
  extraTokenClaims: async () => ({ actor_type: 'agent', role: 'bench' }),
});

server.on('request', provider.callback());
process.stdout.write(`PEER ready url=${issuer}\n`);

const stop = () => server.close(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
