/**
 * examples/vitest-app, run as its README says (`vitest run` in the example),
 * with `tokenpak` linked to this repository's built package. The packed-package
 * test runs it again against the tarball, under Vitest 4 and 5.
 */
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { linkedProject, REPO, runVitest } from './harness.ts';

const project = linkedProject(join(REPO, 'examples/vitest-app'));
afterAll(() => project.cleanup());

it('examples/vitest-app passes its own suite', async () => {
  const result = await runVitest(project.dir, [], { timeoutMs: 90_000 });
  const failed = result.tests.filter((t) => t.status !== 'passed');
  expect(failed.map((t) => `${t.fullName}: ${t.failureMessages.join('\n')}`), result.output).toEqual([]);
  expect(result.tests.length).toBeGreaterThanOrEqual(14);
  expect(result.code).toBe(0);
}, 120_000);
