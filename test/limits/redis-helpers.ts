/**
 * The Redis server of this machine (127.0.0.1:6379, started by .ci/run when
 * it is not running), or $TOKENPAK_TEST_REDIS_URL. Each test run uses its own
 * key prefix and deletes its keys afterwards.
 */
import { createClient } from 'redis';

export const REDIS_URL = process.env.TOKENPAK_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

let counter = 0;
const prefixes: string[] = [];

/** A key prefix no other run uses. */
export function uniquePrefix(label: string): string {
  const prefix = `tokenpak-test:${label}:${process.pid}:${Date.now().toString(36)}:${++counter}`;
  prefixes.push(prefix);
  return prefix;
}

/** The keys under a prefix. */
export async function keysUnder(prefix: string): Promise<string[]> {
  const client = await createClient({ url: REDIS_URL }).connect();
  try {
    const keys: string[] = [];
    for await (const batch of client.scanIterator({ MATCH: `${prefix}:*`, COUNT: 500 })) keys.push(...batch);
    return keys.sort();
  } finally {
    await client.close();
  }
}

/** Deletes the keys of this run's prefixes. */
export async function deletePrefixes(): Promise<void> {
  if (prefixes.length === 0) return;
  const client = await createClient({ url: REDIS_URL }).connect();
  try {
    for (const prefix of prefixes.splice(0)) {
      for await (const batch of client.scanIterator({ MATCH: `${prefix}:*`, COUNT: 500 })) if (batch.length > 0) await client.del(batch);
    }
  } finally {
    await client.close();
  }
}
