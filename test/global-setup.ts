/**
 * Builds `dist/` once before the tests when it is missing or older than the
 * sources, so that the CLI and package-level tests run what users run. A lock
 * directory keeps two test runs in the same checkout from building at once.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const output = join(root, 'dist/cli/main.js');
const lock = join(root, 'node_modules/.cache/tokenpak-build.lock');

function newestSource(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = 0;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestSource(join(path, entry)));
  return newest;
}

function isStale(): boolean {
  if (!existsSync(output)) return true;
  const sources = Math.max(newestSource(join(root, 'src')), newestSource(join(root, 'tsup.config.ts')), newestSource(join(root, 'package.json')));
  return sources > statSync(output).mtimeMs;
}

function sleep(ms: number) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Builds into a scratch directory and swaps it in with renames, so that CLI
 * tests of another run in this checkout never see a half-cleaned dist/.
 */
function build(): void {
  // A sibling of dist/, so that the rename into place stays on one file system.
  const scratch = join(root, `.dist-build-${process.pid}`);
  rmSync(scratch, { recursive: true, force: true });
  try {
    execFileSync(join(root, 'node_modules/.bin/tsup'), ['--out-dir', scratch], { cwd: root, stdio: 'inherit' });
  } catch (error) {
    // A failed build fails the run: testing a stale dist/, or JavaScript without its type
    // declarations, would pass tests against code that is not what the sources say.
    rmSync(scratch, { recursive: true, force: true });
    throw new Error(`[global-setup] The build (tsup) failed, so the tests cannot run against the current sources. Fix the error above and run the tests again. (${(error as Error).message.split('\n')[0]})`);
  }
  const old = join(root, `node_modules/.cache/tokenpak-dist-old-${process.pid}`);
  const dist = join(root, 'dist');
  if (existsSync(dist)) renameSync(dist, old);
  renameSync(scratch, dist);
  rmSync(old, { recursive: true, force: true });
}

export function setup(): void {
  if (!isStale()) return;
  mkdirSync(join(root, 'node_modules/.cache'), { recursive: true });
  // Wait (bounded) for another run's build; a lock older than two minutes is left over from a crash.
  for (let waited = 0; ; waited += 200) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      const age = existsSync(lock) ? Date.now() - statSync(lock).mtimeMs : 0;
      if (waited > 120_000 || age > 120_000) rmSync(lock, { recursive: true, force: true });
      else sleep(200);
    }
  }
  try {
    if (isStale()) build();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}
