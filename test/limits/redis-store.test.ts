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

describe('redis limit store', () => {
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
