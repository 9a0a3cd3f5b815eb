/**
 * The recipe, run as written: the built `tokenpak` CLI, port 8000, curl as the
 * client. This is the one test that uses port 8000.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, cpSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');
const bin = join(root, 'bin/tokenpak.js');
const URL_BASE = 'http://localhost:8000';

// Each test works in a fresh directory holding the recipe's two configs, as a user would.
const work = mkdtempSync(join(tmpdir(), 'tokenpak-recipe-'));
cpSync(join(root, 'examples/recipe/config.yaml'), join(work, 'config.yaml'));
cpSync(join(root, 'examples/recipe/config.prod.yaml'), join(work, 'config.prod.yaml'));

const children: ChildProcess[] = [];

/** Starts `tokenpak proxy` and resolves once it prints that it is listening. */
function startProxy(args: string[], env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, [bin, 'proxy', ...args], {
    cwd: work,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  const listening = new Promise<void>((ready, fail) => {
    const timer = setTimeout(() => fail(new Error(`proxy did not start within 10 s:\n${output}`)), 10_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('listening on')) {
        clearTimeout(timer);
        ready();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`proxy exited with ${code} before listening:\n${output}`));
    });
  });
  return { child, listening, exited, output: () => output };
}

async function curlJson(body: string, headers: string[] = []) {
  const { stdout } = await run('curl', ['-s', '-X', 'POST', `${URL_BASE}/v1/messages`, ...headers.flatMap((h) => ['-H', h]), '-d', body]);
  return JSON.parse(stdout) as Record<string, unknown>;
}

beforeAll(() => {
  if (!existsSync(join(root, 'dist/cli/main.js'))) throw new Error('Build first: npm run build (npm test does it).');
});

afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
});

describe('recipe: local development with the mock provider', () => {
  it('step 1: validate-config prints exactly the four ✓ lines', async () => {
    const { stdout } = await run(process.execPath, [bin, 'validate-config', 'config.yaml'], { cwd: work });
    expect(stdout).toBe(
      [
        '✓ Config valid',
        '✓ Providers: mock (enabled)',
        '✓ Real providers: openai (disabled), anthropic (disabled)',
        '✓ All models route to mock',
        '',
      ].join('\n'),
    );
  });

  it('steps 2-4 and 6: proxy answers from the mock, takes 100 requests, stops on SIGTERM and restarts on the same port', async () => {
    // Step 2: no API keys in the environment.
    const env = { OPENAI_API_KEY: '', ANTHROPIC_API_KEY: '' };
    const dev = startProxy(['--config', 'config.yaml'], env);
    await dev.listening;

    // Step 3: the debug pattern, after the mock's 200 ms latency.
    const started = performance.now();
    const answer = await curlJson('{"model": "gpt-4", "messages": [{"role": "user", "content": "Debug my code"}]}', [
      'Content-Type: application/json',
    ]);
    const took = performance.now() - started;
    expect(answer.content).toBe('Mock response: Debugged your code successfully');
    expect(answer.provider).toBe('mock');
    expect(answer.cost_cents).toBe(0);
    expect(answer.latency_ms as number).toBeGreaterThanOrEqual(200);
    expect(took).toBeGreaterThanOrEqual(200);

    // Step 4: 100 requests without a Content-Type header (curl sends form data), all answered.
    const bodies: Record<string, unknown>[] = [];
    for (let batch = 0; batch < 100; batch += 20) {
      bodies.push(
        ...(await Promise.all(
          Array.from({ length: 20 }, () => curlJson('{"model": "gpt-4", "messages": [{"role": "user", "content": "request $i"}]}')),
        )),
      );
    }
    expect(bodies).toHaveLength(100);
    for (const body of bodies) {
      expect(body.content).toBe('Mock GPT-4 response: [mock output for testing]');
      expect(body.cost_cents).toBe(0);
    }

    // Step 6: SIGTERM stops it cleanly (exit 0) and frees the port at once.
    dev.child.kill('SIGTERM');
    expect(await dev.exited).toBe(0);
    const again = startProxy(['--config', 'config.yaml'], env);
    await again.listening;
    const after = await curlJson('{"model": "claude-3-sonnet", "messages": [{"role": "user", "content": "explain closures"}]}');
    expect(after.content).toBe('Mock response: Explained the concept clearly');
    again.child.kill('SIGINT');
    expect(await again.exited).toBe(0);
  }, 60_000);
});
