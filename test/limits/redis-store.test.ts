import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { TokenPakError } from '../../src/errors.ts';
import { createRedisLimitStore } from '../../src/limits/redis-store.ts';
import type { LimitStore } from '../../src/limits/types.ts';
import { REDIS_URL, deletePrefixes, keysUnder, uniquePrefix } from './redis-helpers.ts';
import { runLimitStoreContract } from './store-contract.ts';

afterAll(deletePrefixes);

const prefixOf = new WeakMap<LimitStore, string>();

runLimitStoreContract('redis', {
  async open() {
    const prefix = uniquePrefix('contract');
    const store = await createRedisLimitStore({ url: REDIS_URL, prefix });
    prefixOf.set(store, prefix);
    return store;
  },
  // Another connection on the same prefix: what a second replica sees.
  replica: (store) => createRedisLimitStore({ url: REDIS_URL, prefix: prefixOf.get(store)! }),
});

/** A TCP relay to Redis that the test can cut and restore, on the same port. */
async function redisRelay() {
  const target = new URL(REDIS_URL);
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  const start = () =>
    new Promise<void>((ready) => {
      server = createServer((client) => {
        const upstream = createConnection(Number(target.port || 6379), target.hostname);
        for (const socket of [client, upstream]) {
          sockets.add(socket);
          socket.on('close', () => sockets.delete(socket));
          socket.on('error', () => {});
        }
        client.pipe(upstream).pipe(client);
      });
      server.listen(port, '127.0.0.1', () => {
        port = (server!.address() as { port: number }).port;
        ready();
      });
    });
  await start();
  return {
    url: () => `redis://127.0.0.1:${port}`,
    start,
    stop: () =>
      new Promise<void>((done) => {
        for (const socket of sockets) socket.destroy();
        server!.close(() => done());
      }),
  };
}

describe('redis limit store', () => {
  it('while Redis cannot be reached, admissions fail with 503 limits_unavailable naming it; once it is back, they pass again', async () => {
    const relay = await redisRelay();
    const warnings: string[] = [];
    const store = await createRedisLimitStore({ url: relay.url(), prefix: uniquePrefix('outage'), warn: (line) => warnings.push(line) });
    const check = [{ key: 'rpm:o', window: { kind: 'sliding', ms: 60_000 }, limit: 100, take: 1 }] as const;
    try {
      expect(await store.admit(check, Date.now())).toEqual({ ok: true });
      await relay.stop();
      const error = (await store.admit(check, Date.now()).catch((e: unknown) => e)) as TokenPakError;
      expect(error).toBeInstanceOf(TokenPakError);
      expect({ code: error.code, status: error.status, retryAfterSeconds: error.retryAfterSeconds }).toEqual({ code: 'limits_unavailable', status: 503, retryAfterSeconds: 1 });
      expect(error.message).toContain(`Redis at ${new URL(relay.url()).host} (state.redis)`);
      expect(error.message).toContain('The request is refused, since its limits cannot be checked');
      await relay.start();
      // The client reconnects by itself (backoff up to 2 s); bounded polling, no timing asserted.
      let back: unknown;
      for (let i = 0; i < 100 && back === undefined; i++) {
        back = await store.admit(check, Date.now()).catch(() => undefined);
        if (back === undefined) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(back).toEqual({ ok: true });
      expect(warnings.some((line) => line.includes('Requests under limits are refused until it is back; reconnecting.'))).toBe(true);
    } finally {
      await store.close();
      await relay.stop();
    }
  }, 30_000);

  it('keeps its keys under its prefix, each expiring with its window', async () => {
    const prefix = uniquePrefix('keys');
    const store = await createRedisLimitStore({ url: REDIS_URL, prefix });
    try {
      const now = Date.now();
      await store.admit([{ key: 'rpm:k', window: { kind: 'sliding', ms: 60_000 }, limit: 5, take: 1 }], now);
      await store.add([{ key: 'cents:k', window: { kind: 'until', resetAt: now + 3_600_000 }, amount: 2 }], now);
      expect(await keysUnder(prefix)).toEqual([`${prefix}:cents:k`, `${prefix}:rpm:k`, `${prefix}:rpm:k:sum`]);
    } finally {
      await store.close();
    }
  });

  it('says where Redis is, but never the password, when it cannot connect', async () => {
    const error = await createRedisLimitStore({ url: 'redis://user:s3cret-pass@127.0.0.1:1', prefix: 'x' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenPakError);
    expect((error as TokenPakError).message).toMatch(/Cannot connect to Redis at 127\.0\.0\.1:1 \(state\.redis\).*remove state:/);
    expect((error as TokenPakError).message).not.toContain('s3cret-pass');
  });
});
