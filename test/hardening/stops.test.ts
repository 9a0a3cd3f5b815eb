/**
 * Clean stops and quiet logs (issue 11, item 7): a stop answers what it can
 * and tells clients about the rest, an abandoned upload is one log line, and
 * start-up failures are one line and exit 1.
 */
import { spawn } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { connect, createServer, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { bin, cleanEnv, startProxyProcess, work, writeConfig } from '../cli/helpers.ts';
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
  it('SIGTERM: in-flight requests are answered and logged, idle keep-alive connections are closed cleanly, none is reset', async () => {
    const config = writeConfig(
      'stops-sigterm.yaml',
      `providers:
  quick: {type: mock, latency_ms: 100}
  slow: {type: mock, latency_ms: 3000}
models:
  gpt-4: {provider: quick}
  gpt-4-slow: {provider: slow}
server: {shutdown_grace_ms: 8000}
`,
    );
    const proxy = startProxyProcess(['--config', config, '--port', '0']);
    const { port } = new URL(await proxy.listening);
    const clock = { now: 0 };
    // Keep-alive connections that were answered once and now sit idle in a client's pool.
    const idle = await Promise.all(Array.from({ length: 4 }, () => openConnection(Number(port), clock)));
    // Idle too, but their client sends its next request just after the stop begins.
    const late = await Promise.all(Array.from({ length: 4 }, () => openConnection(Number(port), clock)));
    for (const conn of [...idle, ...late]) expect(await conn.send('gpt-4')).toMatchObject({ status: 200, connection: 'keep-alive' });
    // Requests the proxy is working on (3 s each) when the signal comes.
    const inFlight = await Promise.all(Array.from({ length: 4 }, () => openConnection(Number(port), clock)));
    const slowAnswers = inFlight.map((conn) => conn.send('gpt-4-slow'));
    await new Promise((resolve) => setTimeout(resolve, 200));

    proxy.child.kill('SIGTERM');
    await until(() => /SIGTERM: stopping/.test(proxy.stdout()));
    // The stop line is printed just before the proxy stops listening; these requests arrive
    // inside its 500 ms drain window, on connections it has not closed (the client has seen no FIN).
    const lateAnswers = late.map((conn) => conn.send('gpt-4'));
    const code = await proxy.exited;
    const [slow, second] = [await Promise.all(slowAnswers), await Promise.all(lateAnswers)];
    await Promise.all([...idle, ...late, ...inFlight].map((conn) => conn.closed));

    expect(code).toBe(0);
    expect(proxy.stderr()).not.toMatch(/internal error|\n\s+at /);
    // Every request written on an open connection was answered, and told that the connection closes.
    expect(slow).toEqual(inFlight.map(() => expect.objectContaining({ status: 200, connection: 'close' })));
    expect(second).toEqual(late.map(() => expect.objectContaining({ status: 200, connection: 'close' })));
    // The server closed every connection with a FIN (a clean end of stream), never a reset.
    for (const conn of [...idle, ...late, ...inFlight]) expect(conn.outcome()).toEqual({ ended: 'fin', error: undefined });
    // Idle connections were closed when the drain window ended, before the slow answers came,
    // not left open until the grace period cut them.
    const firstSlowAnswer = Math.min(...slow.map((answer) => answer.at));
    for (const conn of idle) expect(conn.endedAt()).toBeLessThan(firstSlowAnswer);
    // All 16 calls are in the call log.
    const logs = await runCli(['logs', '--json', '--config', config]);
    const calls = logs.stdout.trim().split('\n').map((line) => JSON.parse(line));
    expect(calls.map((call) => [call.model, call.status]).sort()).toEqual([
      ...Array.from({ length: 12 }, () => ['gpt-4', 200]),
      ...Array.from({ length: 4 }, () => ['gpt-4-slow', 200]),
    ]);
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


async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  if (!condition()) throw new Error('timed out waiting');
}

/** One answer read off a raw connection (status 0 and `failure` when none came); `at` orders it against other connections' events. */
interface RawAnswer {
  status: number;
  connection: string | undefined;
  at: number;
  failure?: string;
}

/**
 * A keep-alive HTTP/1.1 connection on a raw socket, so that the test sees
 * how the server ends it: a FIN ('end') or a reset ('error' ECONNRESET).
 * `clock` numbers events across connections in the order they were seen.
 */
async function openConnection(port: number, clock: { now: number }) {
  const socket: Socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let buffer = Buffer.alloc(0);
  let waiting: ((answer: RawAnswer) => void) | undefined;
  const fail = (failure: string): RawAnswer => ({ status: 0, connection: undefined, at: ++clock.now, failure });
  let ended: 'fin' | undefined;
  let endedAt = Infinity;
  let error: string | undefined;
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('data', (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    const head = buffer.indexOf('\r\n\r\n');
    if (head < 0 || !waiting) return;
    const lines = buffer.subarray(0, head).toString('latin1').split('\r\n');
    const headers = new Map(lines.slice(1).map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
    const length = Number(headers.get('content-length'));
    if (!Number.isInteger(length)) return waiting(fail(`expected an answer with a Content-Length, got: ${lines.join(' | ')}`));
    if (buffer.length < head + 4 + length) return;
    buffer = buffer.subarray(head + 4 + length);
    const done = waiting;
    waiting = undefined;
    done({ status: Number(lines[0]!.split(' ')[1]), connection: headers.get('connection'), at: ++clock.now });
  });
  socket.on('end', () => {
    ended = 'fin';
    endedAt = ++clock.now;
    waiting?.(fail('the server closed the connection without answering'));
  });
  socket.on('error', (e: NodeJS.ErrnoException) => {
    error = `${e.code}: ${e.message}`;
    waiting?.(fail(error));
  });
  return {
    closed,
    /** Sends one chat request and resolves with its answer, or with the failure. */
    send(model: string): Promise<RawAnswer> {
      if (ended || error) return Promise.resolve(fail(`the connection had already ended (${ended ?? error}) when the request was to be sent`));
      const body = JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] });
      return new Promise<RawAnswer>((resolve) => {
        waiting = resolve;
        socket.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      });
    },
    outcome: () => ({ ended, error }),
    endedAt: () => endedAt,
  };
}
