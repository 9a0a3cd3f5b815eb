/**
 * The Vitest plugin as users run it: fixture projects (test/vitest/fixtures/*)
 * are copied to a temporary directory with `tokenpak` linked to this
 * repository's built package, and Vitest runs their suites in a child process.
 * Each fixture test asserts behaviour itself; tests named `EXPECTED FAIL: …`
 * fail on purpose, and the assertions here check what their failures print.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkedProject, REPO, runVitest, type TempProject, type VitestRun } from './harness.ts';

const FIXTURES = join(REPO, 'test/vitest/fixtures');
const projects: TempProject[] = [];

async function run(fixture: string, args: string[] = []): Promise<VitestRun> {
  const project = linkedProject(join(FIXTURES, fixture));
  projects.push(project);
  return runVitest(project.dir, args, { timeoutMs: 90_000 });
}

afterAll(() => {
  for (const project of projects) project.cleanup();
});

/** The console output of one failed test, from its FAIL header to the next one. */
function failureOf(run: VitestRun, title: string): string {
  const start = run.output.indexOf(`> ${title}\n`);
  expect(start, `no failure block for "${title}" in:\n${run.output}`).toBeGreaterThan(-1);
  const next = run.output.indexOf(' FAIL ', start + 1);
  return run.output.slice(start, next === -1 ? undefined : next);
}

function expectOnlyExpectedFailures(run: VitestRun): void {
  expect(run.tests.length).toBeGreaterThan(0);
  const unexpected = run.tests.filter((t) => (t.status === 'failed') !== t.title.startsWith('EXPECTED FAIL'));
  expect(unexpected.map((t) => `${t.status}: ${t.fullName}\n${t.failureMessages.join('\n')}`), run.output).toEqual([]);
}

describe('a mock-only project (SDK clients configured by the environment)', () => {
  let result: VitestRun;
  beforeAll(async () => {
    result = await run('features');
  }, 120_000);

  it('passes every behaviour test and fails only the deliberate ones', () => {
    expectOnlyExpectedFailures(result);
    expect(result.tests.filter((t) => t.status === 'passed').length).toBeGreaterThanOrEqual(20);
  });

  it('a failing matcher prints what it expected and the test\'s transcript', () => {
    const failure = failureOf(result, 'EXPECTED FAIL: matcher prints the transcript');
    expect(failure).toContain('expected provider "mock" to have been called 2 times, but it was called 1 time');
    expect(failure).toMatch(/TokenPak transcript of test "EXPECTED FAIL: matcher prints the transcript": 1 call \(TokenPak at http:\/\/127\.0\.0\.1:\d+\/__tokenpak\/w[0-9a-f]{12}\.t\d+\)/);
    expect(failure).toContain('#1 gpt-4 → backup ✓ 200, after 1 failed attempt  [openai-chat');
    expect(failure).toContain('prompt: "Debug the parser"');
    expect(failure).toMatch(/1\. mock → gpt-4: ✗ 500 provider_error: Mock provider "mock" simulated a server error \(HTTP 500, failNext\)\. \(pattern "debug", injected failure: HTTP 500, \d+ ms\)/);
    expect(failure).toMatch(/2\. backup → gpt-4: ✓ 200 \(default answer, \d+ ms\)/);
    // Printed once, by the matcher, not again by the failed-test hook.
    expect(failure.split('TokenPak transcript').length).toBe(2);
  });

  it('any failing test shows its transcript, also in the JSON report\'s meta', () => {
    const failure = failureOf(result, 'EXPECTED FAIL: a failing test shows the transcript');
    const meta = result.byTitle('EXPECTED FAIL: a failing test shows the transcript').meta as { tokenpak?: { transcript: string } };
    expect(meta.tokenpak?.transcript).toMatch(/^TokenPak transcript of test "EXPECTED FAIL: a failing test shows the transcript": 1 call[^]*answer: "Mock response: Debugged your code successfully"/);
    expect(result.byTitle('answers the OpenAI SDK from a pattern, and the matchers see the call').meta ?? {}).not.toHaveProperty('tokenpak');
    expect(failure).toContain("expected 'Mock response: Debugged your code suc…' to be 'something else'");
    expect(failure).toContain('TokenPak transcript of test "EXPECTED FAIL: a failing test shows the transcript": 1 call');
    expect(failure).toContain('answer: "Mock response: Debugged your code successfully"');
    expect(failure).toMatch(/1\. mock → gpt-4: ✓ 200 \(pattern "debug", \d+ ms\)/);
  });

  it('the fallback matcher says why it failed', () => {
    const failure = failureOf(result, 'EXPECTED FAIL: fallback matcher explains');
    expect(failure).toContain('expected a call to have fallen back to "backup", but no call was answered by "backup" after a failed attempt');
  });

  it('concurrent tests calling the shared URL each see their own calls (answered in-process)', () => {
    for (const name of ['one', 'two', 'three']) expect(result.byTitle(`${name} sees only its own calls`).status).toBe('passed');
  });
});

describe('a project without msw interception', () => {
  it('reports calls to the shared URL during concurrent tests instead of misattributing them', async () => {
    const result = await run('no-msw');
    expectOnlyExpectedFailures(result);
    const failure = failureOf(result, 'EXPECTED FAIL: stray calls are reported');
    expect(failure).toContain('(no call reached this TokenPak)');
    expect(failure).toContain("1 call(s) reached the file's shared TokenPak URL");
    expect(failure).toContain('pass tokenpak.openaiBaseURL / tokenpak.anthropicBaseURL / tokenpak.url to the code under test');
  }, 120_000);
});

describe('with msw (interceptHosts: true)', () => {
  it('tags http.request clients with their test and answers hard-coded hosts through node:https', async () => {
    const result = await run('msw');
    expectOnlyExpectedFailures(result);
    expect(result.tests.filter((t) => t.status === 'passed')).toHaveLength(4);
  }, 120_000);
});

describe('production routing with simulated providers', () => {
  let result: VitestRun;
  beforeAll(async () => {
    result = await run('simulate');
  }, 120_000);

  it('runs the real provider code against stand-ins, fails the primary and falls back', () => {
    expectOnlyExpectedFailures(result);
    for (const title of ['the primary fails, the fallback answers', 'a rate-limited primary falls back while streaming', 'the Anthropic provider streams through its stand-in']) {
      expect(result.byTitle(title).status).toBe('passed');
    }
  });

  it('the transcript marks simulated providers, retries and injected failures', () => {
    const failure = failureOf(result, 'EXPECTED FAIL: the transcript marks simulated providers and injected failures');
    // One line per try: the provider retried twice (max_retries: 2) before the router fell back.
    expect(failure).toMatch(/1\. openai \(simulated\) → gpt-4: ✗ 500 provider_error: OpenAI provider "openai" answered HTTP 500\. Retrying in \d+ ms\. \(generated answer, injected failure: HTTP 500, \d+ ms\)/);
    expect(failure).toMatch(/2\. openai \(simulated\) → gpt-4: ✗ 500 .*\(generated answer, injected failure: HTTP 500, \d+ ms\)/);
    expect(failure).toMatch(/3\. openai \(simulated\) → gpt-4: ✗ 500 provider_error: OpenAI provider "openai" answered HTTP 500 after 3 tries: .*\(generated answer, injected failure: HTTP 500, \d+ ms\)/);
    expect(failure).toMatch(/4\. anthropic \(simulated\) → gpt-4: ✓ 200/);
    expect(failure).not.toContain('tokenpak-test-key');
  });
});

describe('the tokenpak() Vite plugin', () => {
  it('adds the setup with its options (config path, host policy)', async () => {
    const result = await run('plugin');
    expectOnlyExpectedFailures(result);
    expect(result.output).toMatch(/\[tokenpak\] The code under test called POST http:\/\/localhost:\d+\/v1\/generate, an LLM API that TokenPak does not answer; letting it through/);
  }, 120_000);
});

describe('without test isolation', () => {
  it('each test file still gets its own scopes (forks)', async () => {
    const result = await run('features', ['--no-isolate', 'sdk.spec.ts', 'file-level.spec.ts']);
    expectOnlyExpectedFailures(result);
    expect(result.tests.length).toBeGreaterThanOrEqual(15);
  }, 120_000);

  it('and with worker threads, concurrent tests included', async () => {
    const result = await run('features', ['--no-isolate', '--pool=threads', 'sdk.spec.ts', 'file-level.spec.ts', 'concurrent.spec.ts']);
    expectOnlyExpectedFailures(result);
    expect(result.tests.length).toBeGreaterThanOrEqual(21);
  }, 120_000);
});

describe('the test file\'s part', () => {
  it('imports none of zod, yaml, undici or msw, nor TokenPak\'s server', async () => {
    // Static imports are resolved before a module runs: the graph is complete even though setup.js needs a Vitest worker to run.
    const script = `
      import { registerHooks } from 'node:module';
      const seen = new Set();
      registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); seen.add(r.url); return r; } });
      for (const entry of ['tokenpak/vitest', 'tokenpak/vitest/setup']) { try { await import(entry); } catch {} }
      console.log(JSON.stringify([...seen]));
    `;
    const project = linkedProject(join(FIXTURES, 'no-msw'));
    projects.push(project);
    const { execFileSync } = await import('node:child_process');
    const urls = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: project.dir, encoding: 'utf8' }).trim().split('\n').at(-1)!) as string[];
    expect(urls.some((url) => url.includes('/dist/vitest/setup.js'))).toBe(true);
    expect(urls.filter((url) => /\/node_modules\/(zod|yaml|undici|msw|@mswjs)\//.test(url))).toEqual([]);
    // The run server (router, formats, config reader) is a chunk of its own, loaded by the global setup.
    const { readFileSync } = await import('node:fs');
    const loaded = urls.filter((url) => url.includes('/dist/')).map((url) => readFileSync(new URL(url), 'utf8')).join('\n');
    expect(loaded).not.toContain('function startRunServer');
    expect(loaded).toContain('function setupTokenPak');
  }, 60_000);
});
