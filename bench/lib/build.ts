/**
 * Builds dist/ when it is missing or older than its sources, and snapshots it
 * for the run.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { setup as buildIfStale } from '../../test/global-setup.ts';

/**
 * `npx tsup` when dist/ is stale, the way the tests do it (test/global-setup.ts:
 * a lock, a build in a scratch directory, then a rename), so that a bench run
 * never shows a half-built dist/ to the tests running beside it. Returns true
 * when it built.
 */
export function ensureBuilt(root: string, log: (message: string) => void): boolean {
  const main = join(root, 'dist/cli/main.js');
  const before = existsSync(main) ? statSync(main).mtimeMs : 0;
  log('Building dist/ if it is stale (npx tsup)...');
  buildIfStale();
  if (!existsSync(main)) throw new Error('The build wrote no dist/cli/main.js; run `npx tsup` to see why, then the bench again.');
  return statSync(main).mtimeMs !== before;
}

const RELATIVE_IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*)["'](\.{1,2}\/[^"']+)["']/g;

/** Relative imports in the built JavaScript under `dir` that point at no file. */
function missingImports(dir: string): string[] {
  const missing: string[] = [];
  const visit = (folder: string) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) visit(path);
      else if (entry.name.endsWith('.js')) {
        for (const match of readFileSync(path, 'utf8').matchAll(RELATIVE_IMPORT)) {
          const target = resolve(folder, match[1]!);
          if (!existsSync(target)) missing.push(`${relative(dir, path)} → ${match[1]}`);
        }
      }
    }
  };
  visit(dir);
  return missing;
}

/**
 * Copies the built package (bin/, dist/, package.json; node_modules linked) to
 * `dir`, so that a rebuild of dist/ by someone else during a long run cannot
 * pull files from under the processes being measured. Retries while the copy
 * is incomplete (a concurrent build was half-way), rebuilding once if needed.
 * Returns the snapshot's package directory.
 */
export async function snapshotPackage(root: string, dir: string, log: (message: string) => void): Promise<string> {
  const pkg = join(dir, 'package');
  for (let attempt = 1; attempt <= 20; attempt++) {
    rmSync(pkg, { recursive: true, force: true });
    mkdirSync(pkg, { recursive: true });
    try {
      cpSync(join(root, 'bin'), join(pkg, 'bin'), { recursive: true });
      cpSync(join(root, 'dist'), join(pkg, 'dist'), { recursive: true });
      cpSync(join(root, 'package.json'), join(pkg, 'package.json'));
      symlinkSync(join(root, 'node_modules'), join(pkg, 'node_modules'), 'dir');
      const missing = existsSync(join(pkg, 'dist/cli/main.js')) ? missingImports(join(pkg, 'dist')) : ['dist/cli/main.js'];
      if (missing.length === 0) return pkg;
      log(`dist/ is incomplete (${missing.slice(0, 3).join(', ')}): a build is probably running; retrying`);
    } catch (error) {
      log(`copying dist/ failed (${(error as Error).message}); retrying`);
    }
    await sleep(1_000);
  }
  throw new Error('Could not take a complete copy of dist/ (it kept changing). Run `npx tsup`, then the bench again.');
}
