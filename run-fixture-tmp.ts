import { join } from 'node:path';
import { linkedProject, REPO, runVitest } from './test/vitest/harness.ts';
const p = linkedProject(join(REPO, 'test/vitest/fixtures/features'));
const r = await runVitest(p.dir, process.argv.slice(2), { timeoutMs: 200_000 });
console.log(r.tests.map((t) => `${t.status}: ${t.fullName}${t.status === 'failed' ? '\n' + t.failureMessages.join('\n').slice(0, 1500) : ''}`).join('\n'));
p.cleanup();
