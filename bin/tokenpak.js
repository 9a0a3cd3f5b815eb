#!/usr/bin/env -S node --max-semi-space-size=8
// --max-semi-space-size: on a large machine V8 grows the young generation to
// over 100 MB under sustained load; 8 MB keeps a busy proxy near 170 MB RSS at
// no measurable CPU cost (see bench/README.md).

// The Node version comes first, before any import that an older Node cannot
// link (node:module's enableCompileCache, node:sqlite, ...): it says what to do
// instead of failing with a SyntaxError.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 19)) {
  process.stderr.write(
    `TokenPak needs Node >= 22.19 (this is v${process.versions.node}). Install a newer Node (https://nodejs.org, or \`nvm install 24\`) and run it again.\n`,
  );
  process.exit(1);
}

// Node's on-disk compile cache makes every start after the first faster
// (the CLI is started often: proxies, `tokenpak logs`, test set-ups).
const { enableCompileCache } = await import('node:module');
enableCompileCache?.();
try {
  await import('../dist/cli/main.js');
} catch (error) {
  // In a clone of the repository nothing is built until asked (prepack builds the package).
  if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !String(error.message).includes('dist/cli/main.js')) throw error;
  process.stderr.write('TokenPak is not built yet: run `npm run build` in the repository first.\n');
  process.exit(1);
}
