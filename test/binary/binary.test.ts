/**
 * The single-file binary (`npm run build:binary`): copied alone into an empty
 * directory and run with a PATH where no `node` is, it does the recipe's steps
 * 1 to 3, reads its call log (`logs`, `stats`), and loads what the npm package
 * loads lazily (the tokenizer, Ajv, undici for a real provider, pg, prom-client,
 * the OpenTelemetry SDK). The binary is
 * built once per source state and kept in the temp directory under a hash of
 * its inputs.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { encode } from 'gpt-tokenizer/encoding/cl100k_base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeOpenAI, FAKE_OPENAI_KEY, fixtureJson, type FakeUpstream } from '../support/fake-upstream.ts';
import { watchProxy } from '../support/proxy-process.ts';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');

/** The files the binary is made from: a change to any of them makes a new one. */
function inputsHash(): string {
  const hash = createHash('sha256').update(process.version);
  const visit = (path: string) => {
    if (statSync(path).isDirectory()) {
      for (const entry of readdirSync(path).sort()) visit(join(path, entry));
    } else {
      hash.update(relative(root, path)).update(readFileSync(path));
    }
  };
  for (const path of ['src', 'scripts/build-binary.ts', 'package-lock.json']) visit(join(root, path));
  return hash.digest('hex').slice(0, 16);
}

/** Binaries of other sources (over 100 MB each) go once they are an hour old: a copy in use was taken long before. */
function pruneCache(cache: string, keep: string): void {
  for (const entry of existsSync(cache) ? readdirSync(cache) : []) {
    const dir = join(cache, entry);
    if (entry !== keep && Date.now() - statSync(dir).mtimeMs > 3_600_000) rmSync(dir, { recursive: true, force: true });
  }
}

function cachedBinary(): string {
  const cache = join(tmpdir(), 'tokenpak-binary');
  const hash = inputsHash();
  pruneCache(cache, hash);
  const file = join(cache, hash, 'tokenpak');
  if (existsSync(file)) return file;
  mkdirSync(join(file, '..'), { recursive: true });
  // Built beside and renamed: a concurrent run never sees half a binary.
  const partial = `${file}.${process.pid}`;
  execFileSync(process.execPath, [join(root, 'scripts/build-binary.ts'), '--out', partial], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
  renameSync(partial, file);
  return file;
}

const work = mkdtempSync(join(tmpdir(), 'tokenpak-binary-run-'));
/** PATH for the binary: an empty directory, so no `node` (nor anything else) can be found. */
const emptyPath = mkdtempSync(join(tmpdir(), 'tokenpak-binary-path-'));
const env = { PATH: emptyPath, HOME: work, OPENAI_API_KEY: '', ANTHROPIC_API_KEY: '' };
const binary = join(work, 'tokenpak');
const children: ChildProcess[] = [];
let openai: FakeUpstream | undefined;

function startProxy(args: string[], extraEnv: Record<string, string> = {}) {
  const child = spawn(binary, ['proxy', ...args], { cwd: work, env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  return { child, listening: watchProxy(child, { name: "the binary's proxy", timeoutMs: 15_000 }).listening };
}

async function post(url: string, body: object) {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as any };
}

beforeAll(() => {
  copyFileSync(cachedBinary(), binary);
  execFileSync('chmod', ['+x', binary]);
}, 180_000);

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await openai?.close();
  rmSync(work, { recursive: true, force: true });
  rmSync(emptyPath, { recursive: true, force: true });
});

describe('the single-file binary, alone in a directory, without node', () => {
  it('has nothing beside it and no node on its PATH', async () => {
    expect(readdirSync(work)).toEqual(['tokenpak']);
    // /bin/sh by its path: nothing is on the PATH the binary gets.
    const lookup = await run('/bin/sh', ['-c', 'command -v node || echo "no node"'], { env });
    expect(lookup.stdout).toBe('no node\n');
  });

  it("runs the recipe's steps 1 to 3, then logs and stats read the call", async () => {
    writeFileSync(join(work, 'config.yaml'), readFileSync(join(root, 'examples/recipe/config.yaml')));

    // Step 1.
    const validated = await run(binary, ['validate-config', 'config.yaml'], { cwd: work, env });
    expect(validated.stdout).toBe(
      ['✓ Config valid', '✓ Providers: mock (enabled)', '✓ Real providers: openai (disabled), anthropic (disabled)', '✓ All models route to mock', ''].join('\n'),
    );

    // Step 2 (on a free port: port 8000 belongs to test/recipe).
    const proxy = startProxy(['--config', 'config.yaml', '--port', '0']);
    const url = await proxy.listening;

    // Step 3.
    const answer = await post(`${url}/v1/messages`, { model: 'gpt-4', messages: [{ role: 'user', content: 'Debug my code' }] });
    expect(answer.status).toBe(200);
    expect(answer.body.content).toBe('Mock response: Debugged your code successfully');
    expect(answer.body.provider).toBe('mock');
    // The exact count comes from the bundled tokenizer; without it the mock would estimate (length / 4, 12 here).
    const exact = encode(answer.body.content).length;
    expect(exact).not.toBe(Math.ceil(answer.body.content.length / 4));
    expect(answer.body.usage.output_tokens).toBe(exact);

    proxy.child.kill('SIGTERM');
    await new Promise((done) => proxy.child.once('exit', done));
    const logs = await run(binary, ['logs', '--provider', 'mock'], { cwd: work, env });
    expect(logs.stdout).toContain(answer.body.id);
    const stats = await run(binary, ['stats'], { cwd: work, env });
    expect(stats.stdout).toMatch(/^gpt-4 +1 +0 +0 /m);
  });

  it('validates a canned answer with the bundled Ajv and calls a real provider through the bundled undici', async () => {
    openai = await createFakeOpenAI();
    writeFileSync(
      join(work, 'extras.yaml'),
      `providers:
  openai:
    type: openai
    api_key: \${OPENAI_KEY}
    base_url: ${openai.baseUrl}
  mock:
    type: mock
    latency_ms: 0
    responses:
      shape: { default: '{"b": 1}' }
models:
  gpt-4o: { provider: openai }
  shape: { provider: mock }
`,
    );
    const proxy = startProxy(['--config', 'extras.yaml', '--port', '0'], { OPENAI_KEY: FAKE_OPENAI_KEY });
    const url = await proxy.listening;

    const real = await post(`${url}/v1/messages`, { model: 'gpt-4o', messages: [{ role: 'user', content: 'What is the capital of France?' }] });
    expect(real.status).toBe(200);
    expect(real.body.content).toBe(fixtureJson('openai-chat-text.json').choices[0].message.content);
    expect(openai.requests).toHaveLength(1);

    // The canned {"b": 1} lacks the schema's required "a": Ajv finds it and the mock answers with a generated object that fits.
    const schema = { type: 'object', properties: { a: { type: 'string' } }, required: ['a'], additionalProperties: false };
    const shaped = await post(`${url}/v1/chat/completions`, {
      model: 'shape',
      messages: [{ role: 'user', content: 'hi' }],
      response_format: { type: 'json_schema', json_schema: { name: 'thing', schema } },
    });
    expect(shaped.status).toBe(200);
    expect(Object.keys(JSON.parse(shaped.body.choices[0].message.content))).toEqual(['a']);
    proxy.child.kill('SIGTERM');
  });

  it('serves metrics and sends traces with the bundled prom-client and OpenTelemetry SDK', async () => {
    const exports: string[] = [];
    const receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        exports.push(`${req.url} ${body}`);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((ready) => receiver.listen(0, '127.0.0.1', ready));
    try {
      const endpoint = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/v1/traces`;
      writeFileSync(join(work, 'observed.yaml'), `${readFileSync(join(root, 'examples/recipe/config.yaml'), 'utf8')}\nmetrics: {}\ntelemetry:\n  endpoint: ${endpoint}\n`);
      const proxy = startProxy(['--config', 'observed.yaml', '--port', '0']);
      const url = await proxy.listening;
      const answer = await post(`${url}/v1/messages`, { model: 'gpt-4', messages: [{ role: 'user', content: 'Debug my code' }] });
      expect(answer.status).toBe(200);
      const metrics = await (await fetch(`${url}/metrics`)).text();
      expect(metrics).toMatch(/^tokenpak_requests_total\{[^}]*model="gpt-4"[^}]*\} 1$/m);
      proxy.child.kill('SIGTERM');
      await new Promise((done) => proxy.child.once('exit', done));
      // The stop sends the spans still held: the call's and its attempt's.
      expect(exports).toHaveLength(1);
      expect(exports[0]).toMatch(/^\/v1\/traces /);
      expect(exports[0]).toContain(`"name":"chat gpt-4"`);
      expect(exports[0]).toContain(answer.body.id);
    } finally {
      receiver.close();
    }
  });

  it('carries pg (installed at build time) for a PostgreSQL call log', async () => {
    writeFileSync(join(work, 'pg.yaml'), 'providers:\n  mock: { type: mock }\nmodels:\n  gpt-4: { provider: mock }\nlogs:\n  store: postgres\n  url: postgres://tokenpak@127.0.0.1:1/test\n');
    const failed = await run(binary, ['logs', '--config', 'pg.yaml'], { cwd: work, env }).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    // Port 1 has no server: getting as far as connecting means the bundled pg loaded.
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toContain('Cannot connect to PostgreSQL at postgres://tokenpak@127.0.0.1:1/test (logs.url)');
  });
});
