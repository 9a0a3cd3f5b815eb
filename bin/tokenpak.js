#!/usr/bin/env -S node --max-semi-space-size=8
// --max-semi-space-size: on a large machine V8 grows the young generation to
// over 100 MB under sustained load; 8 MB keeps a busy proxy near 170 MB RSS at
// no measurable CPU cost (see bench/README.md).
// Node's on-disk compile cache makes every start after the first faster
// (the CLI is started often: proxies, `tokenpak logs`, test set-ups).
import { enableCompileCache } from 'node:module';

enableCompileCache?.();
await import('../dist/cli/main.js');
