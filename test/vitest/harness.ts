/**
 * Runs Vitest as a user does, in a throwaway project outside the repository:
 * a copy of a fixture (or example) directory whose node_modules links to this
 * repository's packages, with `tokenpak` linked to the repository itself (so
 * `tokenpak/vitest` resolves through package.json `exports` to the built dist/).
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const REPO = resolve(import.meta.dirname, '../..');

/** A project in a temporary directory; `cleanup()` removes it. */
export interface TempProject {
  dir: string;
  cleanup(): void;
}

/** Copies `source` (a directory) into a new temporary project and links node_modules to the repository's. */
export function linkedProject(source: string, extraFiles: Record<string, string> = {}): TempProject {
  const dir = mkdtempSync(join(tmpdir(), 'tokenpak-vitest-'));
  cpSync(source, dir, { recursive: true, filter: (path) => !path.includes('node_modules') });
  for (const [name, text] of Object.entries(extraFiles)) writeFileSync(join(dir, name), text);
  if (!existsSync(join(dir, 'package.json'))) writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'fixture', private: true, type: 'module' }));
  const modules = join(dir, 'node_modules');
  mkdirSync(modules);
  for (const entry of readdirSync(join(REPO, 'node_modules'))) {
    if (entry === '.bin' || entry === 'tokenpak') continue;
    symlinkSync(join(REPO, 'node_modules', entry), join(modules, entry));
  }
  symlinkSync(REPO, join(modules, 'tokenpak'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** One test as Vitest's JSON reporter describes it. */
export interface ReportedTest {
  title: string;
  fullName: string;
  status: 'passed' | 'failed' | 'skipped' | 'pending' | 'todo';
  failureMessages: string[];
  /** The test's task meta (TokenPak puts a failed test's transcript in `meta.tokenpak`). */
  meta?: Record<string, unknown>;
}

export interface VitestRun {
  code: number | null;
  output: string;
  tests: ReportedTest[];
  byTitle(title: string): ReportedTest;
}

/** Runs `vitest run` in a project (with a bounded time), returning its JSON report and console output. */
export function runVitest(dir: string, args: string[] = [], options: { timeoutMs?: number; env?: NodeJS.ProcessEnv; vitestBin?: string } = {}): Promise<VitestRun> {
  const report = join(dir, 'vitest-report.json');
  rmSync(report, { force: true });
  const bin = options.vitestBin ?? join(dir, 'node_modules/vitest/vitest.mjs');
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [bin, 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...args], {
      cwd: dir,
      env: { ...process.env, CI: '1', NO_COLOR: '1', FORCE_COLOR: '0', TOKENPAK_CONFIG: '', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`vitest in ${dir} did not finish within ${options.timeoutMs ?? 60_000} ms. Output so far:\n${output}`));
    }, options.timeoutMs ?? 60_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      let tests: ReportedTest[] = [];
      if (existsSync(report)) {
        const json = JSON.parse(readFileSync(report, 'utf8')) as { testResults: Array<{ assertionResults: ReportedTest[] }> };
        tests = json.testResults.flatMap((file) => file.assertionResults);
      }
      resolvePromise({
        code,
        output,
        tests,
        byTitle(title) {
          const test = tests.find((t) => t.title === title);
          if (!test) throw new Error(`No test titled ${JSON.stringify(title)} in the report. Tests: ${tests.map((t) => t.title).join(', ')}\n${output}`);
          return test;
        },
      });
    });
  });
}
