/** Builds dist/ with `npx tsup` when it is missing or older than its sources. */
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function newestMtime(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

/** Returns true when it had to build. Throws when the build fails. */
export function ensureBuilt(root: string, log: (message: string) => void): boolean {
  let builtAt = 0;
  try {
    builtAt = statSync(join(root, 'dist/cli/main.js')).mtimeMs;
  } catch {
    // Not built yet.
  }
  const sourcesAt = Math.max(newestMtime(join(root, 'src')), newestMtime(join(root, 'tsup.config.ts')), newestMtime(join(root, 'package.json')));
  if (builtAt > sourcesAt) return false;
  log('Building dist/ (npx tsup)...');
  const result = spawnSync('npx', ['tsup'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  if (result.status !== 0) throw new Error(`npx tsup failed (exit ${result.status ?? result.signal}); fix the build, then run the bench again.`);
  return true;
}
