/**
 * The counter store a config's `state:` names: Redis (imported, with its
 * client, only then) or this process's memory.
 */
import type { Config } from '../config/load.ts';
import { createMemoryLimitStore } from './memory-store.ts';
import type { LimitStore } from './types.ts';

/**
 * Opens the store of `config.state` (connecting to Redis, which fails with a
 * TokenPakError naming state.redis when it cannot). `warn` receives Redis
 * connection problems while serving (default: stderr).
 */
export async function createLimitStore(config: Config, options: { warn?: (message: string) => void } = {}): Promise<LimitStore> {
  if (!config.state) return createMemoryLimitStore();
  const { createRedisLimitStore } = await import('./redis-store.ts');
  return createRedisLimitStore({ url: config.state.redis, prefix: config.state.prefix, ...(options.warn ? { warn: options.warn } : {}) });
}
