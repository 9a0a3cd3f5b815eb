/**
 * Clean stops and quiet logs (issue 11, item 7): a stop answers what it can
 * and tells clients about the rest, an abandoned upload is one log line, and
 * start-up failures are one line and exit 1.
 */
import { spawn } from 'node:child_process';
import { Agent, request as httpRequest } from 'node:http';
import { connect, createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { bin, cleanEnv, work, writeConfig } from '../cli/helpers.ts';
import { internalErrors, proxyFor } from '../server/helpers.ts';

const CONFIG = `providers:
  mock: {type: mock, latency_ms: 5}
models:
  gpt-4: {provider: mock}
`;

function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: work, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

// The CLI warns about mock latencies under 100 ms: a realistic one keeps its output to the failure line.
const CLI_CONFIG = CONFIG.replace('latency_ms: 5', 'latency_ms: 300');

describe('start-up failures', () => {
  it('--host not-a-host: one clear line, exit 1, no stack', async () => {
    const config = writeConfig('stops-host.yaml', CLI_CONFIG);
    const result = await runCli(['proxy', '--config', config, '--host', 'not-a-host.invalid', '--port', '0']);
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/Cannot listen on not-a-host\.invalid:0: the host name "not-a-host\.invalid" does not resolve\. Pass --host with an IP address/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('a port in use: one clear line, exit 1', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const config = writeConfig('stops-port.yaml', CLI_CONFIG);
      const result = await runCli(['proxy', '--config', config, '--host', '127.0.0.1', '--port', String(port)]);
      expect(result.code).toBe(1);
      expect(result.stderr.trim().split('\n')).toEqual([`[tokenpak] Port ${port} on 127.0.0.1 is already in use. Stop the other process, or pass --port.`]);
    } finally {
      blocker.close();
    }
  });
});

describe('client aborts', () => {
  it('an abandoned upload is one log line, not an internal error with a stack', async () => {
    const notices: string[] = [];
    const { proxy } = await proxyFor(CONFIG, { onClientGone: (line) => notices.push(line) });
    const socket = connect(proxy.port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write('POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"model":"gpt-4","messages":[');
    await new Promise((resolve) => setTimeout(resolve, 100));
    socket.destroy();
    for (let i = 0; i < 100 && notices.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatch(/^The client closed the connection before sending the whole request body\. \(POST \/v1\/chat\/completions, request [\w-]+\)$/);
    expect(internalErrors).toEqual([]);
  });
});

describe('stopping', () => {
  it('keep-alive clients under load see answers or refused connections, never a reset', async () => {
    const { proxy } = await proxyFor(CONFIG);
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    const outcomes = { answered: 0, closedAfterStop: 0, refused: 0, reset: [] as string[], racedListener: 0 };
    let stopped = false;
    const once = () =>
      new Promise<void>((resolve) => {
        const req = httpRequest(`${proxy.url}/v1/chat/completions`, { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
          res.resume();
          res.on('end', () => {
            outcomes.answered++;
            if (stopped && res.headers.connection === 'close') outcomes.closedAfterStop++;
            resolve();
          });
        });
        req.on('error', (error: NodeJS.ErrnoException) => {
          if (error.code === 'ECONNREFUSED') outcomes.refused++;
          // A new connection still in the kernel's accept queue when the listener closes is reset by the
          // kernel, not by TokenPak: only a reset of a reused keep-alive connection is the defect.
          else if (error.code === 'ECONNRESET' && !req.reusedSocket) outcomes.racedListener++;
          else outcomes.reset.push(`${error.code}: ${error.message}${req.reusedSocket ? ' (reused keep-alive connection)' : ''}`);
          resolve();
        });
        req.end(JSON.stringify({ model: 'gpt-4', messages: [{ role: 'user', content: 'hi' }] }));
      });
    const client = async () => {
      // Bounded: each client stops once the server refuses it, or after 400 requests.
      for (let i = 0; i < 400 && outcomes.refused === 0; i++) await once();
    };
    const clients = Array.from({ length: 8 }, client);
    await new Promise((resolve) => setTimeout(resolve, 300));
    stopped = true;
    await proxy.close({ graceMs: 2_000 });
    await Promise.all(clients);
    agent.destroy();
    expect(outcomes.reset).toEqual([]);
    expect(outcomes.answered).toBeGreaterThan(0);
    expect(outcomes.closedAfterStop).toBeGreaterThan(0);
  });

  it('a stream still open when the grace period ends gets an error event in its format', async () => {
    const { proxy } = await proxyFor(`providers:\n  mock: {type: mock, chunk_delay_ms: 100, responses: {gpt-4: {default: "${'word '.repeat(200)}"}}}\nmodels:\n  gpt-4: {provider: mock}\n`);
    const text = new Promise<string>((resolve, reject) => {
      const req = httpRequest(`${proxy.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve(body));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(JSON.stringify({ model: 'gpt-4', stream: true, messages: [{ role: 'user', content: 'hi' }] }));
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    await proxy.close({ graceMs: 200 });
    const body = await text;
    const events = body.split('\n\n').filter((e) => e.startsWith('data: ') && e !== 'data: [DONE]');
    expect(events.length).toBeGreaterThan(1);
    const last = JSON.parse(events.at(-1)!.slice('data: '.length));
    expect(last.error.message).toMatch(/TokenPak is stopping and the shutdown grace period \(server\.shutdown_grace_ms\) is over/);
    expect(internalErrors).toEqual([]);
  });
});
