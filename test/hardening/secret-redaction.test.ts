/**
 * Issue 11, "secrets and prompts leak": upstreams that echo every request
 * header and the whole prompt in their error bodies (as some do), reached
 * through the built `tokenpak proxy`. No configured secret (an `api_key`, a
 * key in `headers:` as in the README's Azure example, a literal credential
 * header) and, with `capture_bodies: false`, no prompt text may appear in a
 * client's answer, the proxy's output, `tokenpak logs`, or the bytes of the
 * log files, which only their owner may read.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runCli, startProxy, tempDir, until, useCliCleanup, type RunningProxy } from '../cli-logs/helpers.ts';

useCliCleanup();

const OPENAI_KEY = 'oaikey-7Qm2Zx9Lw4Rt8Yp3Vn6Bd1Hc5Jf0Ks';
const AZURE_KEY = 'azkey-3Fh8Kq1Wz6Ep9Tx2Mb5Nc7Lr0Gv4Sd';
const ANTHROPIC_KEY = 'antkey-5Rt9Yu2Io6Pa3Sd8Fg1Hj4Kl7Zx0Cv';
const LITERAL_CREDENTIAL = 'literal-cred-9Xw2Ve5Tb8Nq1Mz4Ly7';
const SECRETS = [OPENAI_KEY, AZURE_KEY, ANTHROPIC_KEY, LITERAL_CREDENTIAL];
// Parts of the prompt an echo would leak; none is shaped like a key, so only the prompt stripping hides them.
const PROMPT = 'Please review: my account number is 4921-7733-0081 and the launch code is tangerine-velvet-42, thanks';
const PROMPT_PIECES = ['4921-7733-0081', 'tangerine-velvet-42', 'my account number is'];

/** An upstream that answers every request with an error quoting all its headers and its body. */
async function echoingUpstream(): Promise<{ url: string; server: Server; hits: () => number }> {
  let hits = 0;
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      hits++;
      const echo = `Request rejected. You sent headers ${JSON.stringify(req.headers)} and body ${body}`;
      if (req.url!.includes('/messages')) {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ type: 'error', error: { type: 'invalid_request_error', message: echo } }));
      } else if (JSON.parse(body).stream) {
        // A failure after the stream began: the error arrives as a data line.
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.end(`data: ${JSON.stringify({ error: { message: echo, type: 'server_error' } })}\n\n`);
      } else {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: echo, type: 'invalid_request_error', code: null } }));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, hits: () => hits };
}

const config = (upstream: string, captureBodies: boolean) => `providers:
  azure:
    type: openai
    base_url: ${upstream}/v1
    api_key: \${ECHO_OPENAI_KEY}
    max_retries: 0
    headers:
      api-key: \${ECHO_AZURE_KEY}
      x-custom-auth: ${LITERAL_CREDENTIAL}
  claude:
    type: anthropic
    base_url: ${upstream}
    api_key: \${ECHO_ANTHROPIC_KEY}
    max_retries: 0
models:
  gpt-4: {provider: azure}
  claude-3-sonnet: {provider: claude}
logs:
  capture_bodies: ${captureBodies}
  flush_ms: 20
`;

const ENV = { ECHO_OPENAI_KEY: OPENAI_KEY, ECHO_AZURE_KEY: AZURE_KEY, ECHO_ANTHROPIC_KEY: ANTHROPIC_KEY };

function expectClean(text: string, where: string, { prompt = true } = {}) {
  for (const secret of SECRETS) expect(text.includes(secret), `${where} contains a secret:\n${text.slice(0, 2000)}`).toBe(false);
  // Even a part of a key is not shown.
  for (const secret of SECRETS) expect(text.includes(secret.slice(-14)), `${where} contains the end of a secret`).toBe(false);
  if (prompt) for (const piece of PROMPT_PIECES) expect(text.includes(piece), `${where} contains prompt text "${piece}":\n${text.slice(0, 2000)}`).toBe(false);
}

describe('an upstream that echoes headers and prompt (capture_bodies: false)', () => {
  let upstream: Awaited<ReturnType<typeof echoingUpstream>>;
  let proxy: RunningProxy;
  let cwd: string;
  const answers: string[] = [];

  beforeAll(async () => {
    upstream = await echoingUpstream();
    cwd = tempDir('secrets');
    writeFileSync(join(cwd, 'config.yaml'), config(upstream.url, false));
    proxy = await startProxy(['--config', 'config.yaml', '--port', '0'], { cwd, env: ENV });
  });
  afterAll(async () => {
    proxy.child.kill('SIGTERM');
    await proxy.exited;
    await new Promise((resolve) => upstream.server.close(resolve));
  });

  it('the OpenAI SDK gets the upstream error without the keys, the credential header or the prompt', async () => {
    const client = new OpenAI({ apiKey: 'client-key', baseURL: `${proxy.url}/v1`, maxRetries: 0 });
    const error = (await client.chat.completions.create({ model: 'gpt-4', messages: [{ role: 'user', content: PROMPT }] }).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    const text = JSON.stringify(error.error);
    answers.push(text);
    expectClean(text, 'the OpenAI client error');
    // What stays: who answered, the status, the upstream's own words, and where things were cut.
    expect(error.message).toMatch(/^400 OpenAI provider "azure" answered HTTP 400: Request rejected\. You sent headers .*\[redacted\].* and body .*\[prompt text\]/);
  });

  it('a stream that fails in the middle ends with an error event without them', async () => {
    const response = await fetch(`${proxy.url}/v1/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({ model: 'gpt-4', stream: true, messages: [{ role: 'user', content: PROMPT }] }),
    });
    const text = await response.text();
    answers.push(text);
    expect(text).toContain('failed in the middle of its answer: Request rejected.');
    expectClean(text, 'the stream');
  });

  it('the Anthropic SDK gets the upstream error without them', async () => {
    const client = new Anthropic({ apiKey: 'client-key', baseURL: proxy.url, maxRetries: 0 });
    const error = (await client.messages.create({ model: 'claude-3-sonnet', max_tokens: 50, messages: [{ role: 'user', content: PROMPT }] }).catch((e: unknown) => e)) as InstanceType<typeof Anthropic.APIError>;
    expect(error).toBeInstanceOf(Anthropic.BadRequestError);
    const text = JSON.stringify(error.error);
    answers.push(text);
    expect(text).toContain('Anthropic provider \\"claude\\" answered HTTP 400: Request rejected.');
    expectClean(text, 'the Anthropic client error');
  });

  it('the call log rows, tokenpak logs, the proxy output and the log files hold none of them; the files are private', async () => {
    expect(upstream.hits()).toBe(3);
    const logs = await until(async () => {
      const result = await runCli(['logs', '--json'], { cwd });
      return result.stdout.split('\n').filter(Boolean).length === 3 ? result : undefined;
    }, 'three logged calls');
    expect(logs.stdout).toContain('[prompt text]');
    expectClean(logs.stdout, 'tokenpak logs --json');
    expectClean(logs.stderr, 'tokenpak logs stderr');
    expectClean(proxy.output(), 'the proxy output');

    const dir = join(cwd, '.tokenpak');
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const files = readdirSync(dir).sort();
    expect(files).toEqual(['calls.db', 'calls.db-shm', 'calls.db-wal']);
    for (const file of files) {
      expect(statSync(join(dir, file)).mode & 0o777, file).toBe(0o600);
      expectClean(readFileSync(join(dir, file)).toString('latin1'), file);
    }
  });
});

describe('with capture_bodies: true', () => {
  it('the echoed prompt stays (the log keeps the prompt anyway); the keys are still redacted', async () => {
    const upstream = await echoingUpstream();
    const cwd = tempDir('secrets-capture');
    writeFileSync(join(cwd, 'config.yaml'), config(upstream.url, true));
    const proxy = await startProxy(['--config', 'config.yaml', '--port', '0'], { cwd, env: ENV });
    try {
      const response = await fetch(`${proxy.url}/v1/messages`, {
        method: 'POST',
        body: JSON.stringify({ model: 'gpt-4', messages: [{ role: 'user', content: PROMPT }] }),
      });
      const text = await response.text();
      expect(response.status).toBe(400);
      expect(text).toContain(PROMPT);
      expectClean(text, 'the client error', { prompt: false });
    } finally {
      proxy.child.kill('SIGTERM');
      await proxy.exited;
      await new Promise((resolve) => upstream.server.close(resolve));
    }
  });
});

describe('stderr', () => {
  it('an internal error whose text holds a configured secret is printed with it redacted', async () => {
    const { parseConfig } = await import('../../src/config/load.ts');
    const { startProxy: startInProcess } = await import('../../src/server/proxy.ts');
    const yaml = `providers:\n  azure:\n    type: openai\n    api_key: \${ECHO_OPENAI_KEY}\n    headers:\n      api-key: \${ECHO_AZURE_KEY}\nmodels:\n  gpt-4: {provider: azure}\n`;
    const printed: string[] = [];
    const spy = vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void printed.push(args.map(String).join(' ')));
    // A provider with a bug: it throws a plain error that quotes its settings.
    const proxy = await startInProcess({
      config: parseConfig(yaml, { env: ENV }),
      port: 0,
      host: '127.0.0.1',
      providerFactory: (name, settings) => ({
        name,
        type: settings.type,
        complete: async () => {
          throw new TypeError(`cannot read the answer with settings ${JSON.stringify(settings)}`);
        },
        stream: () => {
          throw new TypeError('unused');
        },
      }),
    });
    try {
      const response = await fetch(`${proxy.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ model: 'gpt-4', messages: [{ role: 'user', content: 'hi' }] }) });
      expect(response.status).toBe(500);
      expectClean(await response.text(), 'the client error', { prompt: false });
      expect(printed).toHaveLength(1);
      expect(printed[0]).toMatch(/^\[tokenpak\] internal error: [^]*TypeError: cannot read the answer with settings/);
      expect(printed[0]).toContain('"api_key":"[redacted]"');
      expectClean(printed[0]!, 'stderr', { prompt: false });
    } finally {
      spy.mockRestore();
      await proxy.close({ graceMs: 0 });
    }
  });
});
