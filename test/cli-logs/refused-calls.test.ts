/** `tokenpak logs` lists requests the proxy refused before routing, with their status and error code. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ask, jsonLines, runCli, startProxy, tempDir, useCliCleanup } from './helpers.ts';

useCliCleanup();

describe('refused requests in the call log (sqlite, through the CLI)', () => {
  it('an unknown model and a body that is not JSON are listed with their status and error code', async () => {
    const cwd = tempDir('refused');
    writeFileSync(join(cwd, 'config.yaml'), 'providers:\n  mock:\n    type: mock\nmodels:\n  gpt-4: {provider: mock}\n');
    const proxy = await startProxy(['--config', 'config.yaml', '--port', '0'], { cwd });
    const unknown = await ask(proxy.url, 'hello', { model: 'gtp-4' });
    expect(unknown.status).toBe(404);
    const notJson = await fetch(`${proxy.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model": ' });
    expect(notJson.status).toBe(400);
    proxy.child.kill('SIGTERM');
    expect(await proxy.exited).toBe(0);

    const table = await runCli(['logs'], { cwd });
    expect(table.stdout).toMatch(/gtp-4\s+-\s+404 model_not_found/);
    expect(table.stdout).toMatch(/-\s+400 invalid_request/);
    const lines = jsonLines((await runCli(['logs', '--json'], { cwd })).stdout);
    expect(lines.map((l) => [l.model, l.status, l.errorCode, l.attempts])).toEqual([
      ['gtp-4', 404, 'model_not_found', []],
      ['', 400, 'invalid_request', []],
    ]);
  }, 60_000);
});
