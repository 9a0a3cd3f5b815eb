/**
 * Counters in Redis, shared by every replica that names the same Redis and
 * prefix. Each admission is one Lua script, which Redis runs atomically: the
 * checks of every counter and the adds happen with no other replica's step in
 * between, so the fleet together admits what a limit allows.
 *
 * A `sliding` counter is a sorted set of amounts scored by the time they were
 * added (member `amount:unique`), beside a running total (`<key>:sum`) so
 * that an admission reads one number and touches only the amounts that aged
 * out. An `until` counter is one number that expires at its reset. Every key
 * expires by itself once its window has passed: nothing needs cleaning.
 *
 * Uses the official client (`redis`, node-redis), imported only when a
 * config has `state: {redis: url}`.
 */
import { createHash, randomUUID } from 'node:crypto';
import { TokenPakError } from '../errors.ts';
import { hostPortOf } from '../util/url.ts';
import type { Admission, Counter, CounterAmount, LimitCheck, LimitStore } from './types.ts';

const SCRIPT = `
local mode = ARGV[1]
local now = tonumber(ARGV[2])
local n = #KEYS / 2

local function amount_of(member)
  return tonumber(string.match(member, '^[^:]+'))
end

-- The counter's total at now: amounts older than the window are removed from the set and the total.
local function current(i, kind, span)
  local key, sum = KEYS[2 * i - 1], KEYS[2 * i]
  if kind == 'u' then
    if now >= span then return 0 end
    return tonumber(redis.call('GET', key) or '0')
  end
  local cutoff = now - span
  local old = redis.call('ZRANGEBYSCORE', key, '-inf', cutoff)
  if #old > 0 then
    local gone = 0
    for _, member in ipairs(old) do gone = gone + amount_of(member) end
    redis.call('ZREMRANGEBYSCORE', key, '-inf', cutoff)
    if redis.call('ZCARD', key) == 0 then
      redis.call('DEL', sum)
      return 0
    end
    return tonumber(redis.call('INCRBYFLOAT', sum, -gone))
  end
  return tonumber(redis.call('GET', sum) or '0')
end

local function passes(used, limit, take)
  return used < limit and used + take <= limit
end

local function add(i, kind, span, amount, id)
  local key, sum = KEYS[2 * i - 1], KEYS[2 * i]
  if kind == 'u' then
    if now >= span then return end
    redis.call('INCRBYFLOAT', key, amount)
    redis.call('PEXPIREAT', key, span)
    return
  end
  redis.call('ZADD', key, now, amount .. ':' .. id)
  redis.call('INCRBYFLOAT', sum, amount)
  redis.call('PEXPIRE', key, span)
  redis.call('PEXPIRE', sum, span)
end

local function arg(i, j) return ARGV[2 + (i - 1) * 5 + j] end

if mode == 'admit' then
  for i = 1, n do
    local kind, span, limit, take = arg(i, 1), tonumber(arg(i, 2)), tonumber(arg(i, 3)), tonumber(arg(i, 4))
    local used = current(i, kind, span)
    if not passes(used, limit, take) then
      local wait = span
      if kind == 'u' then
        wait = math.max(1, span - now)
      else
        local left = used
        local entries = redis.call('ZRANGE', KEYS[2 * i - 1], 0, -1, 'WITHSCORES')
        for j = 1, #entries, 2 do
          left = left - amount_of(entries[j])
          if passes(left, limit, take) then
            wait = tonumber(entries[j + 1]) + span - now
            break
          end
        end
      end
      return { tostring(i - 1), tostring(used), tostring(wait) }
    end
  end
end
if mode == 'read' then
  return { tostring(current(1, arg(1, 1), tonumber(arg(1, 2)))) }
end
for i = 1, n do
  local kind, span, amount = arg(i, 1), tonumber(arg(i, 2)), tonumber(arg(i, 4))
  if amount > 0 then
    if kind == 's' then current(i, kind, span) end
    add(i, kind, span, amount, arg(i, 5))
  end
end
return {}
`;

const SHA = createHash('sha1').update(SCRIPT).digest('hex');

export interface RedisLimitStoreOptions {
  /** `redis://…` or `rediss://…`. */
  url: string;
  /** Prefix of every key (`tokenpak` → `tokenpak:rpm:…`). */
  prefix: string;
  /** Receives connection problems (the URL's password never appears). */
  warn?: (message: string) => void;
}

/** Connects to Redis (fails with a clear error when it cannot) and returns the store. */
export async function createRedisLimitStore(options: RedisLimitStoreOptions): Promise<LimitStore> {
  const { createClient } = await import('redis');
  const where = describeRedis(options.url);
  const warn = options.warn ?? ((message: string) => process.stderr.write(`[tokenpak] ${message}\n`));
  // Fail fast while disconnected instead of queueing: a request waits on no Redis that is down.
  let connected = false;
  const client = createClient({
    url: options.url,
    disableOfflineQueue: true,
    socket: {
      connectTimeout: 5_000,
      // A first connection that fails is a start-up error (said once, below); a lost one is retried for ever.
      reconnectStrategy: (retries: number, cause: Error) => (connected ? Math.min(100 * 2 ** retries, 2_000) : cause),
    },
  });
  let lastWarning = '';
  client.on('error', (error: Error) => {
    if (!connected) return;
    // Node-redis emits one error per reconnect attempt; say each distinct problem once.
    const line = `Redis at ${where} (state.redis): ${scrubUrl(error.message, options.url)}. Requests under limits are refused until it is back; reconnecting.`;
    if (line !== lastWarning) warn(line);
    lastWarning = line;
  });
  client.on('ready', () => (lastWarning = ''));
  try {
    await client.connect();
    connected = true;
  } catch (error) {
    throw new TokenPakError(
      'config_invalid',
      `Cannot connect to Redis at ${where} (state.redis): ${scrubUrl((error as Error).message, options.url)}. Start Redis there, fix the URL, or remove state: to keep the limits' counters in memory (one replica only).`,
      { cause: error },
    );
  }

  const key = (counter: Counter) => `${options.prefix}:${counter.key}`;
  const run = async (mode: 'admit' | 'add' | 'read', counters: ReadonlyArray<Counter & { limit?: number; value: number }>, now: number): Promise<string[]> => {
    const keys = counters.flatMap((counter) => [key(counter), `${key(counter)}:sum`]);
    const args = [mode, String(now)];
    for (const counter of counters) {
      const span = counter.window.kind === 'sliding' ? counter.window.ms : counter.window.resetAt;
      args.push(counter.window.kind === 'sliding' ? 's' : 'u', String(span), String(counter.limit ?? 0), String(counter.value), randomUUID());
    }
    try {
      return (await client.evalSha(SHA, { keys, arguments: args })) as string[];
    } catch (error) {
      if (!String((error as Error).message).startsWith('NOSCRIPT')) throw unavailable(error, where, options.url);
      try {
        return (await client.eval(SCRIPT, { keys, arguments: args })) as string[];
      } catch (retried) {
        throw unavailable(retried, where, options.url);
      }
    }
  };

  return {
    kind: 'redis',

    async admit(checks: readonly LimitCheck[], now): Promise<Admission> {
      if (checks.length === 0) return { ok: true };
      const reply = await run('admit', checks.map((check) => ({ ...check, value: check.take })), now);
      if (reply.length === 0) return { ok: true };
      return { ok: false, index: Number(reply[0]), used: Number(reply[1]), retryAfterMs: Number(reply[2]) };
    },

    async add(amounts: readonly CounterAmount[], now) {
      const positive = amounts.filter((a) => a.amount > 0);
      if (positive.length > 0) await run('add', positive.map((a) => ({ ...a, value: a.amount })), now);
    },

    async read(counter, now) {
      const [value] = await run('read', [{ ...counter, value: 0 }], now);
      return Number(value);
    },

    async close() {
      if (client.isOpen) await client.close();
    },
  };
}

function unavailable(error: unknown, where: string, url: string): TokenPakError {
  return new TokenPakError(
    'limits_unavailable',
    `The rate-limit and budget counters cannot be read: Redis at ${where} (state.redis) answered ${scrubUrl(String((error as Error)?.message ?? error), url)}. The request is refused, since its limits cannot be checked; send it again once Redis is back.`,
    { status: 503, retryable: true, retryAfterSeconds: 1, cause: error },
  );
}

/** `host:port` of a Redis URL, without user or password. */
export function describeRedis(url: string): string {
  return hostPortOf(url, 6379) ?? '(unreadable URL)';
}

/** Removes the URL (and so its password) from a client message. */
function scrubUrl(message: string, url: string): string {
  let text = message.split(url).join(describeRedis(url));
  try {
    const password = decodeURIComponent(new URL(url).password);
    if (password) text = text.split(password).join('***');
  } catch {
    // Not a URL: nothing more to hide.
  }
  return text;
}
