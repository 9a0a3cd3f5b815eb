/** The built `tokenpak` CLI, run as users run it, in temporary working directories. */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { watchProxy } from '../support/proxy-process.ts';

export const root = resolve(import.meta.dirname, '../..');
export const bin = join(root, 'bin/tokenpak.js');

const children: ChildProcess[] = [];
const dirs: string[] = [];

/** Registers the cleanup of this file's proxies and directories. */
export function useCliCleanup(): void {
  beforeAll(() => {
    if (!existsSync(join(root, 'dist/cli/main.js'))) throw new Error('Build first: npm run build (npm test does it).');
  });
  afterAll(() => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
}

export function tempDir(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `tokenpak-${label}-`));
  dirs.push(dir);
  return dir;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `tokenpak ARGS` to completion. */
export function runCli(args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<CliResult> {
  return new Promise((done) => {
    // execFile's default maxBuffer (1 MiB) kills the CLI mid-output and hands back a cut line: a few
    // thousand `logs --json` rows exceed it. 256 MiB is far above any log these tests write.
    execFile(process.execPath, [bin, ...args], { cwd: options.cwd, env: { ...process.env, ...options.env }, maxBuffer: 256 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      done({ code, stdout, stderr });
    });
  });
}

export interface RunningProxy {
  child: ChildProcess;
  url: string;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  output(): string;
}

/** Starts `tokenpak proxy ARGS` and resolves once it listens (pass --port 0). */
export function startProxy(args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<RunningProxy> {
  const child = spawn(process.execPath, [bin, 'proxy', ...args], { cwd: options.cwd, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  // Started once it also says where it logs: the store is open.
  const { listening, exited, output } = watchProxy(child, { until: 'call log:' });
  return listening.then((url) => ({ child, url, exited, output }));
}

/** POST /v1/messages in TokenPak's format; resolves with the status and body. */
export async function ask(url: string, content: string, options: { model?: string; headers?: Record<string, string>; requestId?: string } = {}) {
  const response = await fetch(`${url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(options.requestId ? { 'x-request-id': options.requestId } : {}), ...options.headers },
    body: JSON.stringify({ model: options.model ?? 'gpt-4', messages: [{ role: 'user', content }] }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown>, requestId: response.headers.get('x-request-id') };
}

/** Polls until `check` returns a value other than undefined (bounded). */
export async function until<T>(check: () => Promise<T | undefined>, what: string, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((done) => setTimeout(done, 50));
  }
}

/** JSON lines of `tokenpak logs --json`. */
export function jsonLines(stdout: string): Record<string, unknown>[] {
  return stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
}
