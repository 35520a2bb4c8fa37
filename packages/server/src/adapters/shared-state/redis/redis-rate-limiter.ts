import { createHash } from 'node:crypto'
import type { Redis } from 'ioredis'
import type { RateDecision, RateLimiter, RatePolicy } from '../../../ports/rate-limiter.js'

/**
 * One token bucket, taken from atomically. KEYS[1] is the bucket, a hash {tokens, at}: the tokens
 * left when it was last touched and when (microseconds of Redis TIME). ARGV[1] is the refill rate
 * per second, ARGV[2] the burst, ARGV[3] the cost: 1 takes a token, -1 gives one back (always
 * allowed, never above the burst). Refill is computed from Redis's own clock, so the clocks of the
 * nodes sharing the bucket never matter. The bucket expires once it would be full again: an idle
 * bucket and a missing one are the same thing.
 * Returns {allowed 0|1, whole tokens left, ms until one token is back (0 if allowed), ms until full}.
 * The arithmetic is MemoryRateLimiter's.
 */
export const TAKE_TOKEN_SCRIPT = `
if redis.replicate_commands then redis.replicate_commands() end
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = burst
else
  local elapsed = now - at
  if elapsed < 0 then elapsed = 0 end
  tokens = math.min(burst, tokens + elapsed * rate / 1000000)
end
local cost = tonumber(ARGV[3])
local allowed = 0
if cost < 0 then
  tokens = math.min(burst, tokens - cost)
  allowed = 1
elseif tokens >= cost then
  tokens = tokens - cost
  allowed = 1
end
local per_ms = rate / 1000
local reset_ms = math.ceil((burst - tokens) / per_ms)
local retry_ms = 0
if allowed == 0 then retry_ms = math.ceil((1 - tokens) / per_ms) end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'at', now)
redis.call('PEXPIRE', KEYS[1], reset_ms + 1000)
return {allowed, math.floor(tokens), retry_ms, reset_ms}
`

const SCRIPT_SHA = createHash('sha1').update(TAKE_TOKEN_SCRIPT).digest('hex')

/** Buckets shared by every node through Redis: one EVALSHA round trip per take. */
export class RedisRateLimiter implements RateLimiter {
  constructor(
    private readonly client: Redis,
    /** Prepended to every key, e.g. `mandate:`; buckets live under `<prefix>rl:`. */
    private readonly prefix: string,
  ) {}

  /** Loads the script (once per Redis server; again after a restart or SCRIPT FLUSH). */
  async load(): Promise<void> {
    await this.client.script('LOAD', TAKE_TOKEN_SCRIPT)
  }

  async take(key: string, policy: RatePolicy): Promise<RateDecision> {
    return decisionFrom(await this.run(key, policy, 1))
  }

  async giveBack(key: string, policy: RatePolicy): Promise<void> {
    decisionFrom(await this.run(key, policy, -1))
  }

  private async run(key: string, policy: RatePolicy, cost: 1 | -1): Promise<unknown> {
    const redisKey = `${this.prefix}rl:${key}`
    try {
      return await this.client.evalsha(SCRIPT_SHA, 1, redisKey, policy.perSecond, policy.burst, cost)
    } catch (err) {
      // A restarted or flushed Redis has forgotten the script: EVAL runs it and caches it again.
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err
      return this.client.eval(TAKE_TOKEN_SCRIPT, 1, redisKey, policy.perSecond, policy.burst, cost)
    }
  }

  /** Resolves when Redis answers. */
  async ping(): Promise<void> {
    await this.client.ping()
  }
}

function decisionFrom(reply: unknown): RateDecision {
  if (!Array.isArray(reply) || reply.length !== 4 || !reply.every((v) => typeof v === 'number')) {
    throw new Error('unexpected reply from the rate-limit script')
  }
  const [allowed, remaining, retryAfterMs, resetMs] = reply as number[]
  return { allowed: allowed === 1, remaining: remaining!, retryAfterMs: retryAfterMs!, resetMs: resetMs! }
}
