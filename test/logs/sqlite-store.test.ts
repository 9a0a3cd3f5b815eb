import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { openSqliteCallLog } from '../../src/logs/sqlite-store.ts';
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
