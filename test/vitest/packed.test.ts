/**
 * The package as users get it: `npm pack` the built package, install the
 * tarball into fresh projects outside the repository together with Vitest (4
 * and 5, the declared peer range), msw (2 and 3), the OpenAI and Anthropic SDKs
 * from the npm registry, copy examples/vitest-app in (its suite has
 * concurrent tests and a fallback drill) and the README's five-minute example
 * next to it, type-check the app and run both suites with `pool: 'forks'` and
 * `pool: 'threads'`. Every child process has a time limit.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, runVitest, type VitestRun } from './harness.ts';

const work = mkdtempSync(join(tmpdir(), 'tokenpak-packed-'));
// Two node_modules trees: removing them can take a while on a busy machine.
afterAll(() => rm(work, { recursive: true, force: true, maxRetries: 3 }), 120_000);

function run(command: string, args: string[], cwd: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 32 * 1024 * 1024, env: { ...process.env, npm_config_update_notifier: 'false' } }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(' ')} failed in ${cwd}: ${error.message}\n${stdout}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

const versionOf = (name: string) => (JSON.parse(readFileSync(join(REPO, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;

let tarball: Promise<string>;
beforeAll(() => {
  // dist/ is built by the global setup; --ignore-scripts keeps `prepare` from rebuilding it.
  tarball = run('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', work], REPO, 60_000).then((out) => join(work, out.trim().split('\n').at(-1)!));
});

async function install(dir: string): Promise<void> {
  const args = ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'];
  try {
    await run('npm', args, dir, 150_000);
  } catch {
    // One retry for a registry hiccup.
    await run('npm', args, dir, 150_000);
  }
}

const matrix = [
  { vitest: '^4.1.0', msw: '^2.0.0', major: 4 },
  { vitest: '^5.0.0', msw: '^3.0.0', major: 5 },
];

describe.concurrent('the packed package in a fresh project', () => {
  for (const { vitest, msw, major } of matrix) {
    it(`runs examples/vitest-app under Vitest ${major} (msw ${msw})`, async () => {
      const dir = join(work, `vitest-${major}`);
      cpSync(join(REPO, 'examples/vitest-app'), dir, { recursive: true, filter: (path) => !path.includes('node_modules') });
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Record<string, Record<string, string>>;
      pkg.dependencies = { openai: versionOf('openai'), '@anthropic-ai/sdk': versionOf('@anthropic-ai/sdk') };
      pkg.devDependencies = { tokenpak: `file:${await tarball}`, vitest, msw };
      writeFileSync(join(dir, 'package.json'), JSON.stringify(pkg, null, 2));
      await install(dir);

      const installed = JSON.parse(readFileSync(join(dir, 'node_modules/vitest/package.json'), 'utf8')) as { version: string };
      expect(installed.version.split('.')[0]).toBe(String(major));
      // Installed from the tarball, not linked to the repository: a real folder holding only what
      // the package ships (no src/, no tests), not a symlink back to this checkout.
      const installedAt = join(dir, 'node_modules/tokenpak');
      expect(lstatSync(installedAt).isSymbolicLink()).toBe(false);
      expect(readdirSync(installedAt).sort()).toEqual(expect.arrayContaining(['bin', 'dist', 'package.json']));
      expect(existsSync(join(installedAt, 'src'))).toBe(false);
      expect(existsSync(join(installedAt, 'test'))).toBe(false);

      // The example type-checks against the published types (matchers, fixture, handle).
      await run(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', dir], dir, 120_000);

      // The README's five-minute example, from its code blocks, in a project of its own beside the app
      // (outside it, or the app's run would pick up its test), sharing the app's node_modules.
      const readme = join(work, `vitest-${major}-readme`);
      writeFiveMinuteExample(readme);
      symlinkSync(join(dir, 'node_modules'), join(readme, 'node_modules'));

      const vitestBin = join(dir, 'node_modules/vitest/vitest.mjs');
      // A generous test timeout: a fresh worker's first mock change loads the control checks (zod), seconds on a loaded machine.
      const args = (pool: string) => [`--pool=${pool}`, '--testTimeout=30000'];
      for (const pool of ['forks', 'threads']) {
        const result: VitestRun = await runVitest(dir, args(pool), { timeoutMs: 300_000 });
        expect(result.output).toContain(`RUN  v${major}.`);
        const failed = result.tests.filter((t) => t.status !== 'passed');
        expect(failed.map((t) => `${pool}: ${t.fullName}: ${t.failureMessages.join('\n')}`), result.output).toEqual([]);
        expect(result.tests.length).toBeGreaterThanOrEqual(17);
        // The concurrent tests (both ways of reaching TokenPak) and the fallback drill ran and passed.
        for (const title of ['billing', 'refund', 'password', 'when OpenAI is down, Anthropic answers and the app carries on', 'a rate limit mid-route falls back for streamed replies too']) {
          expect(result.byTitle(title).status, `${pool}: ${title}`).toBe('passed');
        }
        expect(result.code).toBe(0);

        const five = await runVitest(readme, args(pool), { timeoutMs: 300_000, vitestBin });
        expect(five.tests.map((t) => `${t.status}: ${t.title}`), five.output).toEqual(['passed: debugs code', 'passed: a test can change the mock, for itself only']);
      }
    }, 1_500_000);
  }
});

/** Writes the README's five-minute example (config, tokenpak.config.yaml, test) with a small src/assistant.ts into `dir`. */
function writeFiveMinuteExample(dir: string): void {
  const text = readFileSync(join(REPO, 'README.md'), 'utf8');
  const start = text.indexOf('### In five minutes');
  const section = text.slice(start, text.indexOf('\n### ', start + 1));
  const blocks = [...section.matchAll(/^( *)```(\w*)\n([\s\S]*?)^\1```/gm)].map((m) => ({
    lang: m[2]!,
    code: m[3]!.split('\n').map((line) => line.slice(m[1]!.length)).join('\n'),
  }));
  const config = blocks.find((b) => b.lang === 'ts' && b.code.includes('plugins: [tokenpak()]'));
  const yaml = blocks.find((b) => b.lang === 'yaml');
  const test = blocks.find((b) => b.lang === 'ts' && b.code.startsWith('// test/assistant.test.ts'));
  expect(config && yaml && test, JSON.stringify(blocks, null, 2)).toBeTruthy();
  mkdirSync(join(dir, 'test'), { recursive: true });
  mkdirSync(join(dir, 'src'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'five-minutes', private: true, type: 'module' }));
  writeFileSync(join(dir, 'vitest.config.ts'), config!.code);
  writeFileSync(join(dir, 'tokenpak.config.yaml'), yaml!.code);
  writeFileSync(join(dir, 'test/assistant.test.ts'), test!.code);
  writeFileSync(
    join(dir, 'src/assistant.ts'),
    `import OpenAI from 'openai';
const openai = new OpenAI();
export async function debugCode(code: string): Promise<string | null> {
  const completion = await openai.chat.completions.create({ model: 'gpt-4', messages: [{ role: 'user', content: code }] });
  return completion.choices[0]!.message.content;
}
`,
  );
}
