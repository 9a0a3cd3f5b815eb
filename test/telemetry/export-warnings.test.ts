/**
 * What `tokenpak proxy` prints when a trace export fails: the collector's own
 * status text is quoted, so a secret it echoes (the telemetry.headers API key
 * it refused) must be redacted like everywhere else.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProxyProcess, writeConfig } from '../cli/helpers.ts';

const TRACE_KEY = 'literal-trace-key-0123456789';

let collector: Server;
let collectorUrl: string;

beforeAll(async () => {
  // A collector that refuses the key, quoting it in its status line as some gateways do.
  collector = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(401, `Unauthorized: API key ${String(req.headers['x-api-key'])} is not valid`).end());
  });
  await new Promise<void>((ready) => collector.listen(0, '127.0.0.1', ready));
  collectorUrl = `http://127.0.0.1:${(collector.address() as AddressInfo).port}/v1/traces`;
});

afterAll(() => new Promise<void>((done) => collector.close(() => done())));

describe('a failed trace export', () => {
  it('is reported on stderr without the secret the collector echoed', async () => {
    const config = writeConfig(
      'export-warnings.yaml',
      `providers:\n  mock: {type: mock}\nmodels:\n  gpt-4: {provider: mock}\nlogs: {store: memory}\ntelemetry:\n  endpoint: ${collectorUrl}\n  headers: { x-api-key: ${TRACE_KEY} }\n`,
    );
    const proxy = startProxyProcess(['--config', config, '--port', '0'], { OTEL_BSP_SCHEDULE_DELAY: '50' });
    const url = await proxy.listening;
    const answer = await fetch(`${url}/v1/messages`, { method: 'POST', body: JSON.stringify({ model: 'gpt-4', messages: [{ role: 'user', content: 'hello' }] }) });
    expect(answer.status).toBe(200);
    await expect.poll(() => proxy.stderr(), { timeout: 10_000, interval: 50 }).toContain('span(s) could not be sent (Unauthorized: API key ');
    proxy.child.kill('SIGTERM');
    expect(await proxy.exited).toBe(0);
    expect(proxy.stderr()).toContain('[redacted]');
    expect(proxy.stderr() + proxy.stdout()).not.toContain(TRACE_KEY);
  });
});
