/**
 * The PostgreSQL server of this machine (127.0.0.1:5432, database `test`,
 * trust auth), or $TOKENPAK_TEST_DATABASE_URL. Each test run works in its own
 * schemas and drops them afterwards.
 */
import pg from 'pg';

export const DATABASE_URL = process.env.TOKENPAK_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

let counter = 0;
const created: string[] = [];

/** A schema name no other run uses. */
export function uniqueSchema(label: string): string {
  const name = `tp_${label}_${process.pid}_${Date.now().toString(36)}_${++counter}`;
  created.push(name);
  return name;
}

/** Drops the schemas this run created. */
export async function dropSchemas(): Promise<void> {
  if (created.length === 0) return;
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    for (const schema of created.splice(0)) await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

/** Runs one query (for checks made beside the store). */
export async function sql<T extends Record<string, unknown>>(text: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    return (await client.query<T>(text, params)).rows;
  } finally {
    await client.end();
  }
}
