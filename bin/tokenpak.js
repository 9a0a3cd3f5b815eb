#!/usr/bin/env node
// Node's on-disk compile cache makes every start after the first faster
// (the CLI is started often: proxies, `tokenpak logs`, test set-ups).
import { enableCompileCache } from 'node:module';

enableCompileCache?.();
await import('../dist/cli/main.js');
