/** `tokenpak logs` and `tokenpak stats` on a log seeded with known calls. */
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { openSqliteCallLog } from '../../src/logs/sqlite-store.ts';
import type { CallRecord } from '../../src/logs/types.ts';
import { attempt, call, failedAttempt } from '../logs/fixtures.ts';
import { bin, jsonLines, runCli, tempDir, useCliCleanup } from './helpers.ts';

useCliCleanup();

const now = Date.now();
const MIN = 60_000;
// Oldest first. The second fell back from openai to the mock; the fourth failed.
const records: CallRecord[] = [
  call({ id: 'old-1', model: 'gpt-4', startedAt: now - 3 * 60 * MIN }),
  call({ id: 'fallback-2', model: 'gpt-4', startedAt: now - 90 * MIN, latencyMs: 1250, attempts: [failedAttempt('openai', { status: 503 }), attempt({ latencyMs: 1200 })] }),
  call({ id: 'claude-3', model: 'claude-3-sonnet', upstreamModel: 'claude-3-5-sonnet-latest', startedAt: now - 10 * MIN, stream: true, attempts: [attempt({ model: 'claude-3-5-sonnet-latest' })] }),
  call({ id: 'failed-4', model: 'gpt-4', startedAt: now - 5 * MIN, outcome: 'error', status: 500, errorCode: 'provider_error', provider: null, upstreamModel: null, attempts: [failedAttempt('mock', { status: 500 }), failedAttempt('mock', { status: 500 })] }),
  ...Array.from({ length: 60 }, (_, i) => call({ id: `bulk-${i + 5}`, model: 'gpt-3.5-turbo', upstreamModel: 'gpt-3.5-turbo', startedAt: now - 60_000 + i * 100, latencyMs: 0.5, attempts: [attempt({ model: 'gpt-3.5-turbo', latencyMs: 0.5 })] })),
];
const ids = (stdout: string) => jsonLines(stdout).map((r) => r.id);

/** Runs `tokenpak ...args` with a terminal as its output (through `script`), returning what it printed. */
function onTerminal(args: string[], cwd: string): Promise<string> {
  const command = [process.execPath, bin, ...args].map((arg) => `'${arg.replaceAll("'", `'\\''`)}'`).join(' ');
  return new Promise((resolveRun, reject) => {
    const child = spawn('/usr/bin/script', ['-qec', command, '/dev/null'], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk));
    child.on('error', reject);
    child.on('close', () => resolveRun(out.replaceAll('\r\n', '\n')));
  });
}

let work: string;
beforeAll(async () => {
  work = tempDir('logs-cli');
  const store = openSqliteCallLog({ path: join(work, '.tokenpak/calls.db') });
  for (const record of records) store.append(record);
  await store.close();
});

describe('tokenpak logs', () => {
  it('prints the newest 50 as a table, newest last', async () => {
    const { code, stdout, stderr } = await runCli(['logs'], { cwd: work });
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    const lines = stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(51);
    expect(lines[1]).toMatch(/bulk-15$/);
    expect(lines.at(-1)).toMatch(/gpt-3.5-turbo\s+mock\s+200\s+0.50 ms\s+3\/7\s+0\s+no\s+bulk-64$/);
    expect(ids((await runCli(['logs', '--json'], { cwd: work })).stdout)).toEqual(records.slice(-50).map((r) => r.id));
  });

  it('shows fallbacks, failures, streams and upstream models in the table', async () => {
    const { stdout } = await runCli(['logs', '--model', 'gpt-4'], { cwd: work });
    const [, old, fallback, failed] = stdout.trimEnd().split('\n');
    expect(old).toMatch(/ gpt-4\s+mock\s+200 /);
    expect(fallback).toMatch(/ gpt-4\s+openai ✗503 → mock\s+200\s+1.25 s /);
    expect(failed).toMatch(/ gpt-4\s+mock ✗500 → mock ✗500\s+500 provider_error /);
    const claude = (await runCli(['logs', '--model', 'claude-3-sonnet'], { cwd: work })).stdout;
    expect(claude).toMatch(/claude-3-sonnet \(claude-3-5-sonnet-latest\)\s+mock\s+200 .* yes\s+claude-3\n$/);
  });

  it('filters by provider attempted, model, status and time, with --limit', async () => {
    const run = async (...args: string[]) => ids((await runCli(['logs', '--json', ...args], { cwd: work })).stdout);
    expect(await run('--provider', 'openai')).toEqual(['fallback-2']);
    expect(await run('--provider', 'mock', '--limit', '3')).toEqual(['bulk-62', 'bulk-63', 'bulk-64']);
    expect(await run('--model', 'gpt-4')).toEqual(['old-1', 'fallback-2', 'failed-4']);
    expect(await run('--status', 'error')).toEqual(['failed-4']);
    expect(await run('--since', '2h', '--model', 'gpt-4')).toEqual(['fallback-2', 'failed-4']);
    expect(await run('--since', '15m', '--limit', '2', '--model', 'claude-3-sonnet')).toEqual(['claude-3']);
    expect(await run('--since', new Date(now - 100 * MIN).toISOString(), '--status', 'ok', '--provider', 'mock', '--model', 'gpt-4')).toEqual(['fallback-2']);
    expect(await run('--limit', '200')).toHaveLength(records.length);
  });

  it('--json writes one complete record per line', async () => {
    const [record] = jsonLines((await runCli(['logs', '--json', '--provider', 'openai'], { cwd: work })).stdout);
    expect(record).toEqual({ time: new Date(records[1]!.startedAt).toISOString(), ...records[1], seq: 2 });
  });

  it('prints nothing and exits 0 when nothing matches (to a pipe)', async () => {
    for (const args of [['--provider', 'anthropic'], ['--model', 'nope'], ['--status', 'error', '--since', '1m'], ['--provider', 'openai', '--model', 'claude-3-sonnet', '--json']]) {
      expect(await runCli(['logs', ...args], { cwd: work })).toEqual({ code: 0, stdout: '', stderr: '' });
    }
  });

  // `script` gives the command a terminal (a pseudo-tty), as a person running it has.
  it.runIf(existsSync('/usr/bin/script'))('on a terminal: a header, "no calls match", and a note when more calls match than --limit shows', async () => {
    const empty = await onTerminal(['logs', '--provider', 'anthropic'], work);
    expect(empty).toBe('No calls match these filters.\n');
    const cut = (await onTerminal(['logs', '--model', 'gpt-4', '--limit', '2'], work)).split('\n');
    expect(cut[0]).toMatch(/^TIME\s+MODEL\s+PROVIDERS/);
    expect(cut.slice(1, 3).map((line) => line.split(/\s+/).at(-1))).toEqual(['fallback-2', 'failed-4']);
    expect(cut[3]).toBe('More calls match: these are the newest 2. Pass --limit N to see more, or narrow with --since.');
    // Exactly as many as the limit: no note.
    const exact = (await onTerminal(['logs', '--model', 'gpt-4', '--limit', '3'], work)).trimEnd().split('\n');
    expect(exact).toHaveLength(4);
    expect(exact.at(-1)).toMatch(/failed-4$/);
  });

  it('rejects bad flags with exit 2 and says how to fix them', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--status', 'failed'], /--status must be "ok" or "error", not "failed"/],
      [['--since', 'yesterday'], /--since must be a duration such as 15m, 2h or 7d, or a time/],
      [['--limit', '0'], /--limit must be a whole number of at least 1/],
      [['--limit', 'ten'], /--limit must be a whole number/],
      [['--provder', 'mock'], /unknown option --provder\. Did you mean "--provider"\?/],
      [['mock'], /logs takes no positional arguments/],
    ];
    for (const [args, message] of cases) {
      const result = await runCli(['logs', ...args], { cwd: work });
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(message);
    }
  });

  it('says where it looked when there is no log, and exits 1', async () => {
    const empty = tempDir('logs-none');
    const result = await runCli(['logs', '--provider', 'openai'], { cwd: empty });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(`No call log at ${join(empty, '.tokenpak/calls.db')}. Start "tokenpak proxy" in this directory first`);
  });

  it('--config reads the log the config names, even when provider keys are unset', async () => {
    const elsewhere = tempDir('logs-config');
    const path = join(elsewhere, 'data/calls.db');
    const store = openSqliteCallLog({ path });
    store.append(call({ id: 'elsewhere-1' }));
    await store.close();
    writeFileSync(
      join(elsewhere, 'prod.yaml'),
      `providers:\n  openai:\n    type: openai\n    api_key: \${OPENAI_API_KEY}\nmodels:\n  gpt-4: { provider: openai }\nlogs:\n  path: ${path}\n`,
    );
    const env = { OPENAI_API_KEY: '' };
    expect(ids((await runCli(['logs', '--json', '--config', join(elsewhere, 'prod.yaml')], { cwd: work, env })).stdout)).toEqual(['elsewhere-1']);
    // Also found through $TOKENPAK_CONFIG.
    expect(ids((await runCli(['logs', '--json'], { cwd: work, env: { ...env, TOKENPAK_CONFIG: join(elsewhere, 'prod.yaml') } })).stdout)).toEqual(['elsewhere-1']);
  });

  it('explains that a memory log cannot be read from another process', async () => {
    const dir = tempDir('logs-memory');
    writeFileSync(join(dir, 'tokenpak.config.yaml'), 'providers:\n  mock: { type: mock }\nmodels:\n  gpt-4: { provider: mock }\nlogs:\n  store: memory\n');
    const result = await runCli(['logs'], { cwd: dir });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('logs.store: memory');
  });

  it('reports a broken logs: section with its location', async () => {
    const dir = tempDir('logs-bad');
    writeFileSync(join(dir, 'c.yaml'), 'providers:\n  mock: { type: mock }\nmodels:\n  gpt-4: { provider: mock }\nlogs:\n  max_age: forever\n');
    const result = await runCli(['logs', '--config', 'c.yaml'], { cwd: dir });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/c\.yaml:6:\d+.*logs\.max_age/);
  });

  it('--follow prints calls as they are logged, and stops on SIGINT', async () => {
    const dir = tempDir('logs-follow');
    const path = join(dir, '.tokenpak/calls.db');
    const writer = openSqliteCallLog({ path, flushIntervalMs: 20 });
    writer.append(call({ id: 'before-1', startedAt: Date.now() - 1000 }));
    await writer.flush();
    const child = spawn(process.execPath, [bin, 'logs', '--follow', '--json', '--provider', 'mock'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
    const waitFor = async (id: string) => {
      for (let i = 0; i < 200 && !out.includes(id); i++) await new Promise((done) => setTimeout(done, 50));
      expect(out).toContain(id);
    };
    try {
      await waitFor('before-1');
      writer.append(call({ id: 'skip-openai', attempts: [attempt({ provider: 'openai', providerType: 'openai' })] }));
      // Stored later but started earlier than what is already shown: still printed, once.
      writer.append(call({ id: 'late-2', startedAt: Date.now() - 60_000 }));
      await writer.flush();
      await waitFor('late-2');
      writer.append(call({ id: 'next-3' }));
      await writer.flush();
      await waitFor('next-3');
    } finally {
      child.kill('SIGINT');
      await writer.close();
    }
    expect(await exited).toBe(0);
    expect(ids(out)).toEqual(['before-1', 'late-2', 'next-3']);
  }, 30_000);
});

describe('tokenpak stats', () => {
  it('--json: totals, per provider and per model', async () => {
    const result = await runCli(['stats', '--json'], { cwd: work });
    expect(result.code).toBe(0);
    const stats = JSON.parse(result.stdout);
    expect(stats.since).toBeNull();
    expect(stats.total).toMatchObject({ calls: 64, errors: 1, fallbacks: 2 });
    expect(stats.providers.map((p: { name: string; calls: number }) => [p.name, p.calls])).toEqual([['mock', 65], ['openai', 1]]);
    expect(stats.models.map((m: { name: string; calls: number }) => [m.name, m.calls])).toEqual([['claude-3-sonnet', 1], ['gpt-3.5-turbo', 60], ['gpt-4', 3]]);
    const recent = JSON.parse((await runCli(['stats', '--json', '--since', '30m'], { cwd: work })).stdout);
    expect(recent.total).toMatchObject({ calls: 62, errors: 1, fallbacks: 1 });
  });

  it('prints readable tables', async () => {
    const { code, stdout } = await runCli(['stats', '--since', '2h'], { cwd: work });
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Calls: since \d{4}-\d\d-\d\d \d\d:\d\d/);
    expect(stdout).toMatch(/\nTOTAL\s+CALLS\s+ERRORS\s+FALLBACKS\s+P50\s+P95\s+TOKENS IN\s+TOKENS OUT\s+COST ¢\nall\s+63\s+1\s+2\s/);
    expect(stdout).toMatch(/\nPROVIDER\s+ATTEMPTS\s+ERRORS .*\nmock\s+64\s+2\s+2\s.*\nopenai\s+1\s+1\s+0\s/s);
    expect(stdout).toMatch(/\nMODEL\s+CALLS .*\nclaude-3-sonnet\s+1\s+0\s+0\s.*\ngpt-3.5-turbo\s+60\s+0\s+0\s+0.50 ms\s+0.50 ms\s+180\s+420\s+0\n/s);
  });

  it('rejects a bad --since with exit 2', async () => {
    const result = await runCli(['stats', '--since', 'last week'], { cwd: work });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--since must be');
  });
});
