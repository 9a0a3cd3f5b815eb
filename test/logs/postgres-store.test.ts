import { afterAll, describe, expect, it } from 'vitest';
import { TokenPakError } from '../../src/errors.ts';
import { openPostgresCallLog } from '../../src/logs/postgres-store.ts';
import { SCHEMA_VERSION } from '../../src/logs/sql.ts';
import { call } from './fixtures.ts';
import { DATABASE_URL, dropSchemas, sql, uniqueSchema } from './postgres-helpers.ts';
import { runStoreContract } from './store-contract.ts';

afterAll(dropSchemas);

runStoreContract('postgres', {
  persistent: true,
  async open(retention = {}) {
    const schema = uniqueSchema('contract');
    const store = await openPostgresCallLog({ url: DATABASE_URL, schema, ...retention });
    return { store, reopen: () => openPostgresCallLog({ url: DATABASE_URL, schema }) };
  },
});

describe('postgres store', () => {
  it('creates its schema once when several proxies start together', async () => {
    const schema = uniqueSchema('race');
    const stores = await Promise.all(Array.from({ length: 4 }, () => openPostgresCallLog({ url: DATABASE_URL, schema })));
    stores.forEach((store, i) => store.append(call({ id: `from-${i}` })));
    await Promise.all(stores.map((store) => store.close()));
    const rows = await sql<{ id: string }>(`SELECT id FROM "${schema}".tokenpak_calls ORDER BY id`);
    expect(rows.map((r) => r.id)).toEqual(['from-0', 'from-1', 'from-2', 'from-3']);
    const version = await sql<{ value: string }>(`SELECT value FROM "${schema}".tokenpak_meta WHERE key = 'schema_version'`);
    expect(version).toEqual([{ value: String(SCHEMA_VERSION) }]);
  });

  it('a reader needs an existing log and says so', async () => {
    const schema = uniqueSchema('missing');
    const error = await openPostgresCallLog({ url: DATABASE_URL, schema, readOnly: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenPakError);
    expect((error as TokenPakError).code).toBe('log_store_error');
    expect((error as Error).message).toMatch(new RegExp(`No call log in .*schema ${schema}.*start "tokenpak proxy"`));
  });

  it('names the server, but never the password, when it cannot connect', async () => {
    const error = await openPostgresCallLog({ url: 'postgres://someone:hunter2secret@127.0.0.1:1/test', schema: 'public' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenPakError);
    expect((error as Error).message).toContain('Cannot connect to PostgreSQL at postgres://someone@127.0.0.1:1/test');
    expect((error as Error).message).not.toContain('hunter2secret');
  });

  it('rejects a schema name that is not a plain SQL name', async () => {
    await expect(openPostgresCallLog({ url: DATABASE_URL, schema: 'x"; DROP TABLE y; --' })).rejects.toThrow(/not a plain SQL name/);
  });
});

describe('postgres store: checkWritable() (for /readyz)', () => {
  it('resolves while calls can be written, rejects once they cannot, and when read-only or closed', async () => {
    const schema = uniqueSchema('writable');
    const store = await openPostgresCallLog({ url: DATABASE_URL, schema });
    store.append(call({ id: 'before' }));
    await expect(store.checkWritable!()).resolves.toBeUndefined();
    const reader = await openPostgresCallLog({ url: DATABASE_URL, schema, readOnly: true });
    await expect(reader.checkWritable!()).rejects.toThrow(/open read-only/);
    await reader.close();
    // The tables gone under the proxy: the calls waiting cannot be written.
    await sql(`DROP TABLE "${schema}".tokenpak_attempts, "${schema}".tokenpak_calls CASCADE`);
    store.append(call({ id: 'after' }));
    await expect(store.checkWritable!()).rejects.toThrow(/tokenpak_calls/);
    await store.close().catch(() => {});
    await expect(store.checkWritable!()).rejects.toThrow(/closed/);
  });
});
