/**
 * `tokenpak/vitest/global-setup`: starts the run's TokenPak once, before any
 * test file, and hands its address to the workers (Vitest's `provide`); stops
 * it after the run, naming the cassettes no test used. The `tokenpak()`
 * plugin adds it; with the setup file alone, add it to `globalSetup` yourself:
 * `test: { globalSetup: ['tokenpak/vitest/global-setup'], setupFiles: ['tokenpak/vitest/setup'] }`.
 */
import { SERVER_KEY, type RunServerInfo } from './protocol.ts';

export type { RunServerInfo };
import { startRunServer } from './run-server.ts';

/** What Vitest (4 and 5) passes a global setup: the test project. */
interface ProjectLike {
  provide(key: 'tokenpak:server', value: RunServerInfo): void;
  /** The resolved config: `vitest -u` (or `UPDATE_SNAPSHOT=all`) makes `snapshotOptions.updateSnapshot` "all". */
  config?: { snapshotOptions?: { updateSnapshot?: string } };
}

export default async function setup(project: ProjectLike): Promise<() => Promise<void>> {
  // Vitest's update flag re-records cassettes as it rewrites snapshots.
  const update = project.config?.snapshotOptions?.updateSnapshot === 'all';
  const server = await startRunServer({ update });
  project.provide(SERVER_KEY, { url: server.url, controlPort: server.controlPort, token: server.token });
  return async () => {
    try {
      const unused = await server.closeCassettes();
      if (unused.length > 0) process.stdout.write(`\n${unused.join('\n')}\n`);
    } finally {
      await server.close();
    }
  };
}
