/** The `logs:` section of the config, and the store it builds. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createCallLogStore, DEFAULT_LOGS_SETTINGS } from '../../src/logs/create-store.ts';
import { parseDuration, parseSince } from '../../src/util/time.ts';
import { load, onlyIssue } from '../config/helpers.ts';
import { call } from './fixtures.ts';

const BASE = 'providers:\n  mock:\n    type: mock\nmodels:\n  gpt-4:\n    provider: mock\n';
const dir = mkdtempSync(join(tmpdir(), 'tokenpak-logs-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('logs: config', () => {
  it('defaults: no store chosen (the caller decides), .tokenpak/calls.db, no bodies, a 100 ms batch window', () => {
    expect(load(BASE).logs).toEqual({ path: '.tokenpak/calls.db', schema: 'public', capture_bodies: false, flush_ms: 100 });
    // tokenpak logs without a config uses these without loading the schema.
    expect(DEFAULT_LOGS_SETTINGS).toEqual(load(BASE).logs);
  });

  it('reads every key', () => {
    const logs = load(`${BASE}logs:\n  store: postgres\n  url: \${DATABASE_URL}\n  schema: tokenpak\n  capture_bodies: true\n  max_rows: 5000\n  max_age: 7d\n  flush_ms: 250\n`, {
      DATABASE_URL: 'postgres://u:p@db:5432/app',
    }).logs;
    expect(logs).toEqual({ store: 'postgres', url: 'postgres://u:p@db:5432/app', schema: 'tokenpak', path: '.tokenpak/calls.db', capture_bodies: true, max_rows: 5000, max_age: '7d', flush_ms: 250 });
  });

  it('names a misspelt key, with a did-you-mean', () => {
    const issue = onlyIssue(`${BASE}logs:\n  stor: sqlite\n`);
    expect(issue.path).toBe('logs.stor');
    expect(issue.message).toContain('Did you mean "store"?');
    expect(issue.line).toBe(8);
  });

  it('rejects an unknown store, a bad max_age, and postgres without a url', () => {
    expect(onlyIssue(`${BASE}logs:\n  store: mysql\n`)).toMatchObject({ path: 'logs.store', message: expect.stringContaining('"sqlite", "postgres" or "memory"') });
    expect(onlyIssue(`${BASE}logs:\n  max_age: 1 week\n`)).toMatchObject({ path: 'logs.max_age', line: 8, message: expect.stringContaining('"7d"') });
    expect(onlyIssue(`${BASE}logs:\n  store: postgres\n`)).toMatchObject({ path: 'logs.url', message: expect.stringContaining('required for store: postgres') });
    expect(onlyIssue(`${BASE}logs:\n  store: postgres\n  url: mysql://x\n`)).toMatchObject({ path: 'logs.url', message: expect.stringContaining('postgres://') });
  });

  it('an unset ${DATABASE_URL} is an error at logs.url', () => {
    const issue = onlyIssue(`${BASE}logs:\n  store: postgres\n  url: \${DATABASE_URL}\n`);
    expect(issue.path).toBe('logs.url');
    expect(issue.message).toContain('${DATABASE_URL}, which is not set');
  });
});

describe('durations and times', () => {
  it('parses durations', () => {
    expect(parseDuration('15m')).toBe(900_000);
    expect(parseDuration('2h')).toBe(7_200_000);
    expect(parseDuration('7d')).toBe(604_800_000);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(parseDuration('2 weeks')).toBeUndefined();
  });

  it('parses --since as a duration ago or a timestamp', () => {
    expect(parseSince('15m', 1_000_000_000)).toBe(1_000_000_000 - 900_000);
    expect(parseSince('2025-06-01T12:00:00Z')).toBe(Date.UTC(2025, 5, 1, 12));
    expect(parseSince('2025-06-01')).toBe(Date.parse('2025-06-01'));
    expect(parseSince('yesterday')).toBeUndefined();
    expect(parseSince('1')).toBeUndefined();
  });
});

describe('createCallLogStore', () => {
  it('opens the default store the caller names, with the config retention', async () => {
    const path = join(dir, 'retained.db');
    const store = await createCallLogStore(load(`${BASE}logs:\n  path: ${path}\n  max_age: 1h\n  max_rows: 3\n`).logs, { defaultStore: 'sqlite' });
    try {
      const now = Date.now();
      store.append(call({ startedAt: now - 2 * 3_600_000 }));
      const recent = Array.from({ length: 4 }, (_, i) => call({ startedAt: now - 1000 + i }));
      for (const record of recent) store.append(record);
      await store.flush();
      expect(await store.prune()).toBe(2);
      expect((await store.query()).map((r) => r.id)).toEqual(recent.slice(1).map((r) => r.id));
    } finally {
      await store.close();
    }
  });

  it('memory unless told otherwise, for the Vitest plugin', async () => {
    const store = await createCallLogStore(load(BASE).logs, { defaultStore: 'memory' });
    expect('records' in store).toBe(true);
    await store.close();
  });

  it('a reader does not create a missing log, and says where it looked', async () => {
    const path = join(dir, 'nothing-here', 'calls.db');
    await expect(createCallLogStore(load(`${BASE}logs:\n  path: ${path}\n`).logs, { defaultStore: 'sqlite', readOnly: true })).rejects.toThrow(
      `No call log at ${path}. Start "tokenpak proxy" in this directory first`,
    );
  });
});
