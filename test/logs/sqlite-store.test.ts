import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, describe, expect, it } from 'vitest';
import { openSqliteCallLog } from '../../src/logs/sqlite-store.ts';
import { attempt, call, failedAttempt } from './fixtures.ts';
import { runStoreContract } from './store-contract.ts';

const dir = mkdtempSync(join(tmpdir(), 'tokenpak-sqlite-contract-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

runStoreContract('sqlite', {
  persistent: true,
  async open(retention = {}) {
    const path = join(dir, `calls-${++n}.db`);
    return { store: openSqliteCallLog({ path, ...retention }), reopen: async () => openSqliteCallLog({ path }) };
  },
});

describe('schema 1 → 2 (wait_ms of retried attempts)', () => {
  it('a log written before retries had their own attempts is upgraded in place and keeps its calls', async () => {
    const path = join(dir, 'schema-1.db');
    const v2 = openSqliteCallLog({ path });
    v2.append(call({ id: 'req-old' }));
    await v2.close();
    // Back to schema 1's layout.
    const raw = new DatabaseSync(path);
    raw.exec('ALTER TABLE attempts DROP COLUMN wait_ms');
    raw.exec('PRAGMA user_version = 1');
    raw.close();

    const store = openSqliteCallLog({ path });
    store.append(call({ id: 'req-new', attempts: [failedAttempt('openai', { waitMs: 250 }), attempt()] }));
    await store.flush();
    const calls = await store.query();
    expect(calls.map((c) => c.id).sort()).toEqual(['req-new', 'req-old']);
    expect(calls.find((c) => c.id === 'req-new')!.attempts[0]!.waitMs).toBe(250);
    await store.close();
    const check = new DatabaseSync(path, { readOnly: true });
    expect(check.prepare('PRAGMA user_version').get()).toEqual({ user_version: 2 });
    check.close();
  });
});

describe('the writer thread', () => {
  it('a process.exit() right after append still writes the calls (the exit waits for the writer thread)', () => {
    const path = join(dir, 'exit.db');
    const store = pathToFileURL(join(import.meta.dirname, '../../src/logs/sqlite-store.ts')).href;
    const fixtures = pathToFileURL(join(import.meta.dirname, 'fixtures.ts')).href;
    const script = `
      const { openSqliteCallLog } = await import(${JSON.stringify(store)});
      const { call, attempt, failedAttempt } = await import(${JSON.stringify(fixtures)});
      const log = openSqliteCallLog({ path: ${JSON.stringify(path)}, flushIntervalMs: 60000 });
      log.append(call({ id: 'exit-1' }));
      setImmediate(() => {
        log.append(call({ id: 'exit-2', attempts: [failedAttempt('openai', { waitMs: 5 }), attempt()] }));
        log.append(call({ id: 'exit-3' }));
        process.exit(0);
      });`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(child.stderr).toBe('');
    expect(child.status).toBe(0);
    const db = new DatabaseSync(path, { readOnly: true });
    const ids = (db.prepare('SELECT id FROM calls ORDER BY seq').all() as Array<{ id: string }>).map((row) => row.id);
    const attempts = db.prepare("SELECT a.attempt, a.wait_ms FROM attempts a JOIN calls c ON c.seq = a.call_seq WHERE c.id = 'exit-2' ORDER BY a.attempt").all();
    db.close();
    expect(ids).toEqual(['exit-1', 'exit-2', 'exit-3']);
    expect(attempts).toEqual([
      { attempt: 0, wait_ms: 5 },
      { attempt: 1, wait_ms: null },
    ]);
  });
});
