import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll } from 'vitest';
import { watchProxy } from '../support/proxy-process.ts';

export const root = resolve(import.meta.dirname, '../..');
/** The built CLI, as `npx tokenpak` runs it (test/global-setup.ts builds dist/ first). */
export const bin = join(root, 'bin/tokenpak.js');
export const recipeDir = join(root, 'examples/recipe');

/** A fresh working directory for this file's runs (the proxy writes its call log under it). */
export const work = mkdtempSync(join(tmpdir(), 'tokenpak-cli-'));

/** Writes a config file into the working directory and returns its path. */
export function writeConfig(name: string, yaml: string): string {
  const path = join(work, name);
  writeFileSync(path, yaml);
  return path;
}

/** An environment without the variables that change TokenPak's behaviour. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of ['NODE_ENV', 'OPENAI_API_KEY', 'ANTHROPIC_API_KEY', 'TOKENPAK_CONFIG']) delete env[name];
  return { ...env, ...extra };
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Where and how {@link run} starts the CLI: by default in {@link work}, with this test's Node. */
export interface RunOptions {
  cwd?: string;
  /** The `node` binary to run the bin with. */
  node?: string;
  /** Node flags before the bin (`--import …`). */
  nodeArgs?: string[];
}

/** Runs `tokenpak ...args` to completion. */
export function run(args: string[], env: Record<string, string> = {}, options: RunOptions = {}): Promise<RunResult> {
  const { cwd = work, node = process.execPath, nodeArgs = [] } = options;
  return new Promise((resolveRun, reject) => {
    const child = spawn(node, [...nodeArgs, bin, ...args], { cwd, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    // Killed after the file's tests if it is still running: a command expected to end may, broken, serve on.
    children.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolveRun({ code, stdout, stderr }));
  });
}

const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

/** A running `tokenpak proxy`. */
export interface ProxyProcess {
  child: ChildProcess;
  /** Resolves with the URL once the proxy prints that it is listening; rejects if it exits first. */
  listening: Promise<string>;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  stdout(): string;
  stderr(): string;
}

export function startProxyProcess(args: string[], env: Record<string, string> = {}): ProxyProcess {
  const child = spawn(process.execPath, [bin, 'proxy', ...args], { cwd: work, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const { listening, exited, stdout, stderr } = watchProxy(child);
  return { child, listening, exited, stdout, stderr };
}

/** A port that is free right now on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
  });
}
