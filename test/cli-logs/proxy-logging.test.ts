/**
 * The proxy's call log through the built CLI: a graceful stop loses no call,
 * SIGKILL under load leaves a readable log that keeps every flushed call,
 * bodies only on request and never secrets, retention in the background, and
 * two proxies sharing one PostgreSQL log.
 */
import { readFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, describe, expect, it } from 'vitest';
import { DATABASE_URL, dropSchemas, uniqueSchema } from '../logs/postgres-helpers.ts';
import { ask, jsonLines, runCli, startProxy, tempDir, until, useCliCleanup } from './helpers.ts';

useCliCleanup();
afterAll(dropSchemas);

const config = (mock: string, logs = '', extra = '') =>
  `providers:\n  mock:\n    type: mock\n${mock}${extra}models:\n  gpt-4:\n    provider: mock\n    fallback_provider: mock\nserver:\n  shutdown_grace_ms: 10000\n${logs ? `logs:\n${logs}` : ''}`;

async function loggedIds(cwd: string, args: string[] = [], env?: NodeJS.ProcessEnv): Promise<string[]> {
  const result = await runCli(['logs', '--json', '--limit', '1000000', ...args], { cwd, ...(env ? { env } : {}) });
  expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
  return jsonLines(result.stdout).map((r) => r.id as string);
}

describe('proxy call log (sqlite)', () => {
  it('a graceful stop (SIGTERM) loses no call, not even those still in flight', async () => {
    const work = tempDir('graceful');
    writeFileSync(join(work, 'config.yaml'), config('    latency_ms: 1500\n'));
    const proxy = await startProxy(['--config', 'config.yaml', '--port', '0'], { cwd: work });
    // Some calls finish before the stop...
    const early = await Promise.all(Array.from({ length: 5 }, (_, i) => ask(proxy.url, `early ${i}`, { requestId: `early-${i}` })));
    expect(early.every((r) => r.status === 200)).toBe(true);
    // ...and 40 are in flight when it comes.
    const inFlight = Array.from({ length: 40 }, (_, i) => ask(proxy.url, `late ${i}`, { requestId: `late-${i}` }).then((r) => r.status, () => 'refused' as const));
    await new Promise((done) => setTimeout(done, 700));
    proxy.child.kill('SIGTERM');
    const statuses = await Promise.all(inFlight);
    expect(await proxy.exited).toBe(0);
    const answered = [...early.map((r) => r.requestId!), ...statuses.flatMap((s, i) => (s === 200 ? [`late-${i}`] : []))];
    // On a loaded machine a few requests may not have connected before the stop; most have.
    expect(answered.length).toBeGreaterThanOrEqual(30);
    expect((await loggedIds(work)).sort()).toEqual(answered.sort());
  }, 60_000);

  it('SIGKILL under load leaves a readable log that keeps every call flushed before it, each once', async () => {
    const work = tempDir('sigkill');
    const flushMs = 100;
    writeFileSync(join(work, 'config.yaml'), config('', `  flush_ms: ${flushMs}\n`));
    const proxy = await startProxy(['--config', 'config.yaml', '--port', '0'], { cwd: work });
    const path = join(work, '.tokenpak/calls.db');
    const sentIds = new Set<string>();
    const received = new Set<string>();
    let sent = 0;
    let killed = false;
    const worker = async (w: number) => {
      while (!killed) {
        const id = `k-${w}-${sent++}`;
        sentIds.add(id);
        try {
          const r = await ask(proxy.url, 'load', { requestId: id });
          if (r.status === 200) received.add(id);
        } catch {
          return; // the proxy is gone
        }
      }
    };
    const workers = Array.from({ length: 16 }, (_, w) => worker(w));
    await until(async () => (received.size >= 1500 ? true : undefined), '1500 answered calls', 30_000);
    // Every call answered so far must reach the file while the load goes on (a batch window
    // later); read it beside the proxy, as `tokenpak logs` would. No clock is compared: the
    // proof is that these rows are in the file before the kill and still there after it.
    const flushedBefore = [...received];
    const reader = new DatabaseSync(path, { readOnly: true });
    const inFile = () => new Set((reader.prepare('SELECT id FROM calls').all() as Array<{ id: string }>).map((row) => row.id));
    await until(async () => (flushedBefore.every((id) => inFile().has(id)) ? true : undefined), 'the answered calls in the log file', 20_000);
    reader.close();
    killed = true;
    proxy.child.kill('SIGKILL');
    await Promise.all(workers);
    expect(await proxy.exited).toBeNull();

    const db = new DatabaseSync(path);
    expect(db.prepare('PRAGMA integrity_check').get()).toEqual({ integrity_check: 'ok' });
    db.close();
    const logged = await loggedIds(work);
    const loggedSet = new Set(logged);
    // Rows written before the kill survive it...
    expect(flushedBefore.filter((id) => !loggedSet.has(id))).toEqual([]);
    // ...and the log holds each call once, and only calls a client sent.
    expect(logged.length).toBe(loggedSet.size);
    expect(logged.filter((id) => !sentIds.has(id))).toEqual([]);
    // The next proxy opens the same file and carries on.
    const again = await startProxy(['--config', 'config.yaml', '--port', '0'], { cwd: work });
    await ask(again.url, 'after the crash', { requestId: 'after-crash' });
    again.child.kill('SIGTERM');
    expect(await again.exited).toBe(0);
    expect((await loggedIds(work, ['--limit', '1']))).toEqual(['after-crash']);
  }, 90_000);

  it('keeps bodies only with logs.capture_bodies, and never keys or auth headers', async () => {
    const secretKey = 'sk-configured-SECRET-7f3a9';
    const clientToken = 'sk-client-SECRET-b81c2';
    const disabledOpenai = '  openai:\n    type: openai\n    api_key: ${OPENAI_API_KEY}\n    enabled: false\n';
    const env = { OPENAI_API_KEY: secretKey };
    const headers = { authorization: `Bearer ${clientToken}`, 'x-api-key': clientToken };

    const plain = tempDir('bodies-off');
    writeFileSync(join(plain, 'config.yaml'), config('', '', disabledOpenai));
    const first = await startProxy(['--config', 'config.yaml', '--port', '0'], { cwd: plain, env });
    expect((await ask(first.url, 'hello', { headers })).status).toBe(200);
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    const [withoutBodies] = jsonLines((await runCli(['logs', '--json'], { cwd: plain })).stdout);
    expect(withoutBodies).not.toHaveProperty('requestBody');
    expect(withoutBodies).not.toHaveProperty('responseBody');

    const captured = tempDir('bodies-on');
    writeFileSync(join(captured, 'config.yaml'), config('', '  capture_bodies: true\n', disabledOpenai));
    const second = await startProxy(['--config', 'config.yaml', '--port', '0'], { cwd: captured, env });
    const answer = await ask(second.url, 'hello with bodies', { headers });
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    const [withBodies] = jsonLines((await runCli(['logs', '--json'], { cwd: captured })).stdout);
    expect(withBodies!.requestBody).toEqual({ model: 'gpt-4', messages: [{ role: 'user', content: 'hello with bodies' }] });
    expect(JSON.stringify(withBodies!.responseBody)).toContain(answer.body.content as string);

    for (const dir of [plain, captured]) {
      for (const file of ['calls.db', 'calls.db-wal']) {
        const path = join(dir, '.tokenpak', file);
        if (!existsSync(path)) continue;
        const bytes = readFileSync(path).toString('latin1');
        expect(bytes).not.toContain('SECRET');
      }
    }
  }, 60_000);

  it('prunes to logs.max_rows in the background', async () => {
    const work = tempDir('retention');
    writeFileSync(join(work, 'config.yaml'), config('', '  max_rows: 20\n'));
    const first = await startProxy(['--config', 'config.yaml', '--port', '0'], { cwd: work });
    for (let i = 0; i < 50; i += 10) await Promise.all(Array.from({ length: 10 }, (_, j) => ask(first.url, 'x', { requestId: `r-${String(i + j).padStart(2, '0')}` })));
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    // Retention runs shortly after the store opens, then every minute.
    const second = await startProxy(['--config', 'config.yaml', '--port', '0'], { cwd: work });
    const kept = await until(async () => {
      const ids = await loggedIds(work);
      return ids.length <= 20 ? ids : undefined;
    }, 'pruning to 20 calls', 10_000);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    expect(kept.sort()).toEqual(Array.from({ length: 20 }, (_, i) => `r-${i + 30}`));
  }, 60_000);
});

describe('proxy call log (postgres)', () => {
  it('two proxies write one log; the CLI reads it', async () => {
    const work = tempDir('pg-fleet');
    const schema = uniqueSchema('fleet');
    writeFileSync(join(work, 'fleet.yaml'), config('    latency_ms: 20\n', `  store: postgres\n  url: \${DATABASE_URL}\n  schema: ${schema}\n`));
    const env = { DATABASE_URL };
    const [a, b] = await Promise.all([
      startProxy(['--config', 'fleet.yaml', '--port', '0'], { cwd: work, env }),
      startProxy(['--config', 'fleet.yaml', '--port', '0'], { cwd: work, env }),
    ]);
    expect(a!.output()).toContain(`call log: postgres 127.0.0.1:5432/test (schema ${schema})`);
    expect(a!.output()).not.toContain(DATABASE_URL);
    const ids: string[] = [];
    for (let round = 0; round < 5; round++) {
      await Promise.all(
        [a!, b!].flatMap((proxy, p) =>
          Array.from({ length: 8 }, (_, i) => {
            const id = `${p ? 'b' : 'a'}-${round}-${i}`;
            ids.push(id);
            return ask(proxy.url, 'fleet', { requestId: id }).then((r) => expect(r.status).toBe(200));
          }),
        ),
      );
    }
    // Both still running: the other terminal reads what they have written.
    const live = await until(async () => {
      const seen = await loggedIds(work, ['--config', 'fleet.yaml'], env);
      return seen.length === ids.length ? seen : undefined;
    }, 'both proxies to flush', 10_000);
    expect(new Set(live)).toEqual(new Set(ids));
    a!.child.kill('SIGTERM');
    b!.child.kill('SIGTERM');
    expect([await a!.exited, await b!.exited]).toEqual([0, 0]);

    const records = jsonLines((await runCli(['logs', '--json', '--limit', '1000', '--config', 'fleet.yaml'], { cwd: work, env })).stdout);
    expect(new Set(records.map((r) => r.seq)).size).toBe(ids.length);
    expect(records.every((r) => r.provider === 'mock')).toBe(true);
    expect(await runCli(['logs', '--provider', 'openai', '--config', 'fleet.yaml'], { cwd: work, env })).toEqual({ code: 0, stdout: '', stderr: '' });
    const stats = JSON.parse((await runCli(['stats', '--json', '--config', 'fleet.yaml'], { cwd: work, env })).stdout);
    expect(stats.total).toMatchObject({ calls: 80, errors: 0, fallbacks: 0 });
    expect(stats.total.p50LatencyMs).toBeGreaterThanOrEqual(20);
  }, 60_000);
});
