/**
 * A `tokenpak proxy` child process as the CLI-level tests watch it: its output as it comes, the URL
 * it prints once it listens, and its exit.
 */
import type { ChildProcess } from 'node:child_process';

export interface WatchedProxy {
  /**
   * Resolves with the URL of its `listening on URL` line (once `until` has been printed too, when
   * given); rejects with its output when it exits first or does not listen in time.
   */
  listening: Promise<string>;
  /** Resolves with the exit code (null when killed by a signal) once its output is closed. */
  exited: Promise<number | null>;
  stdout(): string;
  stderr(): string;
  /** stdout and stderr as they came. */
  output(): string;
}

export interface WatchOptions {
  /** Who it is, for the error messages (default `proxy`). */
  name?: string;
  timeoutMs?: number;
  /** Text that must have been printed as well before it counts as started. */
  until?: string;
}

export function watchProxy(child: ChildProcess, options: WatchOptions = {}): WatchedProxy {
  const { name = 'proxy', timeoutMs = 10_000, until } = options;
  let stdout = '';
  let stderr = '';
  let output = '';
  const exited = new Promise<number | null>((done) => child.once('close', (code) => done(code)));
  const listening = new Promise<string>((ready, fail) => {
    const timer = setTimeout(() => fail(new Error(`${name} did not start within ${timeoutMs / 1000} s:\n${output}`)), timeoutMs);
    const check = () => {
      const url = /listening on (http:\/\/\S+)/.exec(output)?.[1];
      if (url !== undefined && (until === undefined || output.includes(until))) {
        clearTimeout(timer);
        ready(url);
      }
    };
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      output += chunk.toString();
      check();
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      output += chunk.toString();
      check();
    });
    void exited.then((code) => {
      clearTimeout(timer);
      fail(Object.assign(new Error(`${name} exited with ${code} before listening:\n${output}`), { code, output }));
    });
  });
  // A proxy expected to fail never listens; keep that from being an unhandled rejection.
  listening.catch(() => {});
  return { listening, exited, stdout: () => stdout, stderr: () => stderr, output: () => output };
}
