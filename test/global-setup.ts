/**
 * Builds `dist/` once before the tests when it is missing or older than the
 * sources, so that the CLI and package-level tests run what users run. A lock
 * directory keeps two test runs in the same checkout from building at once
 * (tsup cleans `dist/` first).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
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
    if (isStale()) {
      try {
        execFileSync(join(root, 'node_modules/.bin/tsup'), { cwd: root, stdio: 'inherit' });
      } catch (error) {
        // tsup writes the JavaScript even when the type declarations fail; the
        // CLI tests can still run it, and `npm test` type-checks separately.
        if (!existsSync(output)) throw error;
        console.warn(`[global-setup] tsup failed (${(error as Error).message.split('\n')[0]}); testing the JavaScript it wrote.`);
      }
    }
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}
