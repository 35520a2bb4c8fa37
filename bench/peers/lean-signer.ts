// The lean signer: the floor for any Node token server on this machine. A bare Fastify app that
// parses the same requests Mandate gets and signs the same ES256 JWT, with no lookup, no
// storage, no secret check and no audit. Started by bench/run.ts as its own process; prints:
//   LEAN ready url=http://127.0.0.1:<port>
//
// Routes (each the floor of the Mandate endpoint of the same name):
//   POST /token       form body, Basic header; client_credentials or refresh_token -> signed JWT
//                     (refresh_token: plus a fresh random refresh token, nothing remembered)
//   POST /introspect  form body, Basic header -> verifies the JWT against its own key (RFC 7662 shape)
//   POST /register    JSON body, Bearer header -> a random client_id and client_secret (RFC 7591 shape)
//   POST /sessions    JSON body, Basic header -> a signed JWT with sid and a random refresh token
//   GET  /jwks        the public key
// Signing is jose's CompactSign with a WebCrypto CryptoKey, as in Mandate's access-token.ts.
import { randomBytes, randomUUID } from 'node:crypto';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { CompactSign, exportJWK, generateKeyPair, jwtVerify } from 'jose';

const TTL_SECONDS = 300;
const ROLE = 'bench';
const KID = 'lean-es256';

const { privateKey, publicKey } = await generateKeyPair('ES256');
const publicJwk = { ...(await exportJWK(publicKey)), alg: 'ES256', use: 'sig', kid: KID };
const encoder = new TextEncoder();

const app = Fastify({ logger: false });
app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
  done(null, new URLSearchParams(body as string));
});

let issuer = '';

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
  ) {
    super(code);
  }
}

/** RFC 6749 §2.3.1: the client id from a Basic header (form-urlencoded, then base64). */
function basicClientId(request: FastifyRequest): string {
  const header = request.headers.authorization ?? '';
  if (!header.startsWith('Basic ')) throw new HttpError(401, 'invalid_client');
  const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) throw new HttpError(401, 'invalid_client');
  return decodeURIComponent(decoded.slice(0, colon));
}

function form(request: FastifyRequest): URLSearchParams {
  if (!(request.body instanceof URLSearchParams)) throw new HttpError(400, 'invalid_request');
  return request.body;
}

function jsonObject(request: FastifyRequest): Record<string, unknown> {
  const b = request.body;
  if (typeof b !== 'object' || b === null || Array.isArray(b)) throw new HttpError(400, 'invalid_request');
  return b as Record<string, unknown>;
}

async function sign(clientId: string, scope: string, aud: string, sid?: string): Promise<string> {
  const iat = Math.floor(Date.now() / 1000);
  const claims = {
    iss: issuer,
    sub: clientId,
    client_id: clientId,
    aud,
    scope,
    iat,
    exp: iat + TTL_SECONDS,
    jti: randomUUID(),
    actor_type: 'agent',
    role: ROLE,
    ...(sid === undefined ? {} : { sid }),
  };
  return new CompactSign(encoder.encode(JSON.stringify(claims))).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: KID }).sign(privateKey);
}

function noStore(reply: FastifyReply): FastifyReply {
  return reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
}

app.post('/token', async (request, reply) => {
  const clientId = basicClientId(request);
  const params = form(request);
  const grant = params.get('grant_type');
  const scope = params.get('scope') ?? 'read';
  const aud = params.get('resource') ?? issuer;
  if (grant === 'client_credentials') {
    const token = await sign(clientId, scope, aud);
    return noStore(reply).send({ access_token: token, token_type: 'Bearer', expires_in: TTL_SECONDS, scope });
  }
  if (grant === 'refresh_token' && params.get('refresh_token')) {
    const token = await sign(clientId, scope, aud, 'ses_lean');
    const refresh = `mdr_${randomBytes(32).toString('base64url')}`;
    return noStore(reply).send({ access_token: token, token_type: 'Bearer', expires_in: TTL_SECONDS, scope, refresh_token: refresh });
  }
  throw new HttpError(400, 'unsupported_grant_type');
});

app.post('/introspect', async (request, reply) => {
  basicClientId(request);
  const token = form(request).get('token') ?? '';
  try {
    const { payload } = await jwtVerify(token, publicKey, { issuer, typ: 'at+jwt', algorithms: ['ES256'] });
    return noStore(reply).send({ active: true, token_type: 'Bearer', ...payload });
  } catch {
    return noStore(reply).send({ active: false });
  }
});

app.post('/register', async (request, reply) => {
  if (!request.headers.authorization?.startsWith('Bearer ')) throw new HttpError(401, 'invalid_token');
  const body = jsonObject(request);
  const clientId = `agt_${randomBytes(16).toString('base64url')}`;
  return reply.code(201).send({
    ...body,
    client_id: clientId,
    client_secret: randomBytes(32).toString('base64url'),
    client_id_issued_at: Math.floor(Date.now() / 1000),
    client_secret_expires_at: 0,
    registration_access_token: randomBytes(32).toString('base64url'),
    registration_client_uri: `${issuer}/register/${clientId}`,
  });
});

app.post('/sessions', async (request, reply) => {
  const clientId = basicClientId(request);
  const body = jsonObject(request);
  const sid = `ses_${randomBytes(16).toString('base64url')}`;
  const scope = typeof body.scope === 'string' ? body.scope : 'read';
  const aud = typeof body.resource === 'string' ? body.resource : issuer;
  const token = await sign(clientId, scope, aud, sid);
  return reply.code(201).send({
    session_id: sid,
    state: 'active',
    access_token: token,
    token_type: 'Bearer',
    expires_in: TTL_SECONDS,
    scope,
    refresh_token: `mdr_${randomBytes(32).toString('base64url')}`,
  });
});

app.get('/jwks', async () => ({ keys: [publicJwk] }));

app.setErrorHandler((err, _request, reply) => {
  if (err instanceof HttpError) return reply.code(err.status).send({ error: err.code });
  return reply.code(500).send({ error: 'server_error' });
});

const url = await app.listen({ host: '127.0.0.1', port: 0 });
issuer = url.replace('localhost', '127.0.0.1');
process.stdout.write(`LEAN ready url=${issuer}\n`);

const stop = () => void app.close().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
