/**
 * `tokenpak/vitest/global-setup`: starts the run's TokenPak once, before any
 * test file, and hands its address to the workers (Vitest's `provide`); stops
 * it after the run. The `tokenpak()` plugin adds it; with the setup file
 * alone, add it to `globalSetup` yourself:
 * `test: { globalSetup: ['tokenpak/vitest/global-setup'], setupFiles: ['tokenpak/vitest/setup'] }`.
 */
import { SERVER_KEY, type RunServerInfo } from './protocol.ts';
import { startRunServer } from './run-server.ts';

/** What Vitest (4 and 5) passes a global setup: the test project. */
interface ProjectLike {
  provide(key: typeof SERVER_KEY, value: RunServerInfo): void;
}

export default async function setup(project: ProjectLike): Promise<() => Promise<void>> {
  const server = await startRunServer();
  project.provide(SERVER_KEY, { url: server.url, controlPort: server.controlPort, token: server.token });
  return () => server.close();
}
