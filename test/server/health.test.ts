/**
 * Health endpoints over real sockets: /livez answers while the process
 * serves; /readyz says whether to send traffic (config loaded, call log
 * writable, not draining); neither needs a client key nor calls a provider.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, describe, expect, it } from 'vitest';
import { openSqliteCallLog } from '../../src/logs/sqlite-store.ts';
import { proxyFor } from './helpers.ts';

const KEY = 'health-test-client-key-0123456789';
const CONFIG = `providers:
  mock: {type: mock, responses: {"*": {default: hello}}}
models:
  gpt-4: {provider: mock}
server:
  auth: {keys: [${KEY}]}
`;

const dir = mkdtempSync(join(tmpdir(), 'tokenpak-health-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** GET over one keep-alive agent, so a request can follow on a connection opened before a stop. */
function get(url: string, agent?: Agent): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    httpRequest(url, { agent: agent ?? false }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
    })
      .on('error', reject)
      .end();
  });
}

describe('health endpoints', () => {
  it('/livez and /readyz answer without a client key (which /v1 needs) and call no provider', async () => {
    const { proxy, mock } = await proxyFor(CONFIG);
    expect(await get(`${proxy.url}/livez`)).toEqual({ status: 200, body: { status: 'ok' } });
    const ready = await get(`${proxy.url}/readyz`);
    expect(ready).toEqual({ status: 200, body: { status: 'ready', checks: { config: 'ok (<inline>)', call_log: 'ok', draining: 'no' } } });
    expect((await get(`${proxy.url}/v1/models`)).status).toBe(401);
    expect(mock().calls).toEqual([]);
  });

  it('/readyz is 503 while the call log cannot be written (a SQLite file locked by another process), and ready again after', async () => {
    const path = join(dir, 'locked.db');
    const log = openSqliteCallLog({ path });
    const { proxy } = await proxyFor(CONFIG, { log });
    expect((await get(`${proxy.url}/readyz`)).status).toBe(200);
    const other = new DatabaseSync(path);
    other.exec('BEGIN EXCLUSIVE');
    const locked = await get(`${proxy.url}/readyz`);
    expect(locked.status).toBe(503);
    expect(locked.body.status).toBe('not_ready');
    expect(locked.body.checks.call_log).toMatch(/^not writable: .*locked/);
    // The process itself is fine: a supervisor must not restart it.
    expect((await get(`${proxy.url}/livez`)).status).toBe(200);
    other.exec('ROLLBACK');
    other.close();
    expect((await get(`${proxy.url}/readyz`)).status).toBe(200);
  });

  it('/readyz is 503 "stopping" once a stop has begun, on a connection opened before it', async () => {
    const { proxy } = await proxyFor(CONFIG);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    expect((await get(`${proxy.url}/readyz`, agent)).status).toBe(200);
    const closed = proxy.close({ graceMs: 2_000 });
    const draining = await get(`${proxy.url}/readyz`, agent);
    expect(draining).toMatchObject({ status: 503, body: { status: 'not_ready', checks: { draining: 'stopping' } } });
    agent.destroy();
    await closed;
  });
});
