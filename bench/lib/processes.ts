/** Child processes, ports and /proc readings for the bench. */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** A node child process whose output is kept (the tail) for error messages. */
export interface NodeChild {
  readonly process: ChildProcess;
  readonly pid: number;
  /** The last few KB of stdout and stderr. */
  output(): string;
  /** Resolves with the first stdout line matching `pattern` (bounded by `timeoutMs`). */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<string>;
  /** Calls `listener` with every stdout line from now on; returns the call that stops it. */
  onLine(listener: (line: string) => void): () => void;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code (null when killed). */
  stop(graceMs?: number): Promise<number | null>;
}

const TAIL = 8_192;

export function spawnNode(args: readonly string[], options: { cwd: string; env?: NodeJS.ProcessEnv; command?: string }): NodeChild {
  // `command`: another executable than this node (the single-file binary), with the same bookkeeping.
  const child = spawn(options.command ?? process.execPath, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`Could not start ${options.command ?? 'node'} ${args.join(' ')}`);
  let tail = '';
  let pending = '';
  const lineWaiters = new Set<(line: string) => void>();
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-TAIL);
  };
  child.stdout!.on('data', (chunk: Buffer) => {
    keep(chunk);
    pending += chunk.toString('utf8');
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      for (const waiter of lineWaiters) waiter(line);
    }
    if (pending.length > TAIL) pending = pending.slice(-TAIL);
  });
  child.stderr!.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  return {
    process: child,
    pid: child.pid,
    output: () => tail,
    onLine(listener) {
      lineWaiters.add(listener);
      return () => lineWaiters.delete(listener);
    },
    waitForLine(pattern, timeoutMs) {
      return new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => done(new Error(`No line matching ${pattern} within ${timeoutMs} ms. Output:\n${tail}`)), timeoutMs);
        const onLine = (line: string) => pattern.test(line) && done(null, line);
        const onExit = (code: number | null) => done(new Error(`Process exited (code ${code}) before printing ${pattern}. Output:\n${tail}`));
        const done = (error: Error | null, line = '') => {
          clearTimeout(timer);
          lineWaiters.delete(onLine);
          child.off('exit', onExit);
          if (error) reject(error);
          else resolve(line);
        };
        lineWaiters.add(onLine);
        child.once('exit', onExit);
      });
    },
    async stop(graceMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** A port that was free a moment ago (the OS picks it). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Resident and peak resident memory of a process, in bytes, from /proc/<pid>/status. */
export function readMemory(pid: number): { rssBytes: number; peakRssBytes: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    if (!match) throw new Error(`/proc/${pid}/status has no ${field} line`);
    return Number(match[1]) * 1024;
  };
  return { rssBytes: kb('VmRSS'), peakRssBytes: kb('VmHWM') };
}

/** One HTTP request on a fresh connection; rejects on connection errors. */
export function httpCall(url: string, options: { method?: string; body?: string; headers?: Record<string, string>; timeoutMs?: number } = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: options.method ?? 'GET', headers: options.headers, agent: false, timeout: options.timeoutMs ?? 5_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${url} did not answer within ${options.timeoutMs ?? 5_000} ms`)));
    req.on('error', reject);
    req.end(options.body);
  });
}

/**
 * Calls `attempt` until it returns a value other than undefined, at most
 * `maxAttempts` times, `intervalMs` apart; errors count as "not yet" unless
 * `abortIf` returns a reason to stop.
 */
export async function poll<T>(
  attempt: () => Promise<T | undefined>,
  options: { maxAttempts: number; intervalMs: number; what: string; abortIf?: () => string | undefined },
): Promise<T> {
  let lastError: unknown;
  for (let i = 0; i < options.maxAttempts; i++) {
    const fatal = options.abortIf?.();
    if (fatal !== undefined) throw new Error(`Stopped waiting for ${options.what}: ${fatal}`);
    try {
      const value = await attempt();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await sleep(options.intervalMs);
  }
  throw new Error(`Gave up waiting for ${options.what} after ${options.maxAttempts} attempts${lastError ? ` (last error: ${String(lastError)})` : ''}.`);
}

/** CPU time (user + system) a process has used so far, in seconds, from /proc/<pid>/stat. */
export function readCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may contain spaces; the fields after its closing parenthesis are fixed.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return ticks / CLOCK_TICKS;
}

// USER_HZ: 100 on every Linux architecture Node supports (`getconf CLK_TCK`).
const CLOCK_TICKS = 100;
