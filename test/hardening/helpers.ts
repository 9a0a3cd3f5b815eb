/**
 * Shared probes of the hardening suite: a hostile request over a real socket,
 * with a `/healthz` sent while the server is busy with it.
 */
import { spawn } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { expect } from 'vitest';
import { send, type RawResponse } from '../server/helpers.ts';

/** What a probe and the concurrent health checks saw. */
export interface ProbeResult {
  response: RawResponse;
  /** Health checks answered while the probe ran (at least one). */
  healthChecks: number;
  /** The slowest health check, in milliseconds. */
  slowestHealthMs: number;
}

/** One GET /healthz on a new connection; resolves with its latency. */
export function healthCheck(url: string): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    httpRequest(`${url}/healthz`, { agent: false }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve(performance.now() - started) : reject(new Error(`/healthz answered ${res.statusCode}`))));
    })
      .on('error', reject)
      .end();
  });
}

/**
 * Sends `body` to `path` and, until it is answered, asks `/healthz` again
 * and again on other connections (at least once). A server blocked by the
 * probe leaves a health check waiting for as long as it is blocked.
 */
export async function probe(url: string, options: { path?: string; body: string; headers?: Record<string, string> }): Promise<ProbeResult> {
  let done = false;
  const answer = send(url, {
    path: options.path ?? '/v1/chat/completions',
    body: options.body,
    headers: { 'content-type': 'application/json', ...options.headers },
  }).finally(() => (done = true));
  let healthChecks = 0;
  let slowestHealthMs = 0;
  do {
    slowestHealthMs = Math.max(slowestHealthMs, await healthCheck(url));
    healthChecks++;
  } while (!done);
  return { response: await answer, healthChecks, slowestHealthMs };
}

/**
 * The server stayed responsive while the probe ran: no health check waited
 * anywhere near the seconds a blocked server takes (a healthy answer takes
 * milliseconds; the bound is generous for a loaded machine).
 */
export function expectResponsive(result: ProbeResult): void {
  expect(result.healthChecks).toBeGreaterThan(0);
  expect(result.slowestHealthMs, `a /healthz waited ${Math.round(result.slowestHealthMs)} ms`).toBeLessThan(2_000);
}

/** A 4xx JSON error with a message and no stack trace. */
export function expectClientError(response: RawResponse, status: number, message: RegExp): void {
  expect(response.status, response.text.slice(0, 300)).toBe(status);
  expect(response.headers['content-type']).toMatch(/^application\/json/);
  const body = response.json();
  const text: string = body.error?.message ?? '';
  expect(text).toMatch(message);
  expect(response.text).not.toMatch(/\n\s+at |this is a bug/i);
}

/** `depth` nested arrays: `[[[…]]]`. */
export function nestedArrays(depth: number): string {
  return '['.repeat(depth) + ']'.repeat(depth);
}

/** A JSON Schema whose properties nest `depth` objects deep. */
export function nestedSchema(depth: number): string {
  let schema = '{"type":"string"}';
  for (let i = 0; i < depth; i++) schema = `{"type":"object","properties":{"a":${schema}}}`;
  return schema;
}

/** How a child `node` process ended, and what it printed. */
export interface NodeOutcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `node args`, killing it after `limitMs` (a hang fails with signal SIGKILL rather than hanging the suite). */
export function runNode(args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; limitMs: number }): Promise<NodeOutcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.limitMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}
