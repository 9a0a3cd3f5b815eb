/**
 * Recipe step 5 as written, after steps 2-4: the real CLI in a fresh
 * directory holding the recipe's config.yaml (on a free port, not 8000).
 */
import { execFile } from 'node:child_process';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { jsonLines, root, runCli, startProxy, tempDir, until, useCliCleanup } from './helpers.ts';

useCliCleanup();
const curl = promisify(execFile);

describe('recipe step 5: the call log proves no real API was called', () => {
  it('tokenpak logs --provider openai prints nothing; --provider mock lists the 101 mock calls', async () => {
    const work = tempDir('step5');
    cpSync(join(root, 'examples/recipe/config.yaml'), join(work, 'config.yaml'));
    // Step 2, with no API keys set.
    const proxy = await startProxy(['--config', 'config.yaml', '--port', '0'], { cwd: work, env: { OPENAI_API_KEY: '', ANTHROPIC_API_KEY: '' } });
    expect(proxy.output()).toContain('call log: sqlite .tokenpak/calls.db');

    // Step 3.
    const { stdout } = await curl('curl', ['-s', '-X', 'POST', `${proxy.url}/v1/messages`, '-H', 'Content-Type: application/json', '-d', '{"model": "gpt-4", "messages": [{"role": "user", "content": "Debug my code"}]}']);
    expect(JSON.parse(stdout).content).toBe('Mock response: Debugged your code successfully');
    // Step 4: 100 requests without a Content-Type header, a few at a time.
    for (let i = 1; i <= 100; i += 10) {
      await Promise.all(
        Array.from({ length: 10 }, () => curl('curl', ['-s', '-X', 'POST', `${proxy.url}/v1/messages`, '-d', '{"model": "gpt-4", "messages": [{"role": "user", "content": "request $i"}]}'])),
      );
    }

    // Step 5, from the same directory, with no flags: the proxy is still running.
    // Calls reach the file within logs.flush_ms (100 ms); wait for that window, no longer.
    const all = await until(async () => {
      const result = await runCli(['logs', '--provider', 'mock', '--limit', '200'], { cwd: work });
      return result.stdout.trim().split('\n').length === 102 ? result : undefined;
    }, '101 logged calls');
    const openai = await runCli(['logs', '--provider', 'openai'], { cwd: work });
    expect(openai).toEqual({ code: 0, stdout: '', stderr: '' });

    expect(all.code).toBe(0);
    const [header, ...rows] = all.stdout.trim().split('\n');
    expect(header).toMatch(/^TIME\s+MODEL\s+PROVIDERS\s+STATUS\s+LATENCY\s+TOKENS IN\/OUT\s+COST ¢\s+STREAM\s+REQUEST ID$/);
    expect(rows).toHaveLength(101);
    for (const row of rows) expect(row).toMatch(/ gpt-4\s+mock\s+200\s+\d+ ms\s+\d+\/\d+\s+0\s+no\s+[\w-]+$/);

    // Without --limit: the newest 50, newest last.
    const recent = await runCli(['logs', '--provider', 'mock'], { cwd: work });
    expect(recent.stdout.trim().split('\n').slice(1)).toEqual(rows.slice(-50));

    const json = jsonLines((await runCli(['logs', '--provider', 'mock', '--limit', '200', '--json'], { cwd: work })).stdout);
    expect(json).toHaveLength(101);
    expect(new Set(json.map((r) => r.id)).size).toBe(101);
    for (const record of json) expect(record).toMatchObject({ provider: 'mock', model: 'gpt-4', outcome: 'ok', status: 200, costCents: 0, clientFormat: 'tokenpak' });
    expect((json[0]!.latencyMs as number) >= 200).toBe(true);

    const stats = JSON.parse((await runCli(['stats', '--json'], { cwd: work })).stdout) as { total: { calls: number; costCents: number; errors: number } };
    expect(stats.total).toMatchObject({ calls: 101, errors: 0, costCents: 0 });

    proxy.child.kill('SIGTERM');
    expect(await proxy.exited).toBe(0);
    // After the proxy has stopped, the log is still there.
    expect((await runCli(['logs', '--provider', 'mock', '--limit', '200', '--json'], { cwd: work })).stdout.trim().split('\n')).toHaveLength(101);
  }, 60_000);
});
