/**
 * The README's "Testing with Vitest" five-minute path, exactly as written:
 * its vitest.config.ts, tokenpak.config.yaml and test file are taken from the
 * README's code blocks, with a small src/assistant.ts as "your code", and run.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { parse } from 'yaml';
import { linkedProject, REPO, runVitest } from './harness.ts';

function fiveMinuteBlocks(): { lang: string; code: string }[] {
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  const start = readme.indexOf('### In five minutes');
  const end = readme.indexOf('\n### ', start + 1);
  expect(start).toBeGreaterThan(-1);
  const section = readme.slice(start, end);
  return [...section.matchAll(/^( *)```(\w*)\n([\s\S]*?)^\1```/gm)].map((m) => ({
    lang: m[2]!,
    code: m[3]!.split('\n').map((line) => line.slice(m[1]!.length)).join('\n'),
  }));
}

const empty = mkdtempSync(join(tmpdir(), 'tokenpak-readme-src-'));
const project = linkedProject(empty);
afterAll(() => {
  project.cleanup();
  rmSync(empty, { recursive: true, force: true });
});

it('the five-minute setup works as written', async () => {
  const blocks = fiveMinuteBlocks();
  // Each step's block on its own, so that a missing or changed one is named.
  const [config, yaml, test] = [
    blocks.find((b) => b.lang === 'ts' && !b.code.startsWith('// test/')),
    blocks.find((b) => b.lang === 'yaml'),
    blocks.find((b) => b.lang === 'ts' && b.code.startsWith('// test/assistant.test.ts')),
  ];
  expect(config?.code, 'step 2, vitest.config.ts: the plugin from tokenpak/vitest').toMatch(/import \{ tokenpak \} from 'tokenpak\/vitest';[\s\S]*plugins: \[tokenpak\(\)\]/);
  expect(parse(yaml?.code ?? ''), 'step 3, tokenpak.config.yaml: gpt-4 routed to a mock').toMatchObject({
    providers: { mock: { type: 'mock' } },
    models: { 'gpt-4': { provider: 'mock' } },
  });
  expect(test?.code, 'step 4, test/assistant.test.ts: the test fixture from tokenpak/vitest').toContain("import { test } from 'tokenpak/vitest';");
  writeFileSync(join(project.dir, 'vitest.config.ts'), config!.code);
  writeFileSync(join(project.dir, 'tokenpak.config.yaml'), yaml!.code);
  mkdirSync(join(project.dir, 'test'));
  mkdirSync(join(project.dir, 'src'));
  writeFileSync(join(project.dir, 'test/assistant.test.ts'), test!.code);
  writeFileSync(
    join(project.dir, 'src/assistant.ts'),
    `import OpenAI from 'openai';
const openai = new OpenAI();
export async function debugCode(code: string): Promise<string | null> {
  const completion = await openai.chat.completions.create({ model: 'gpt-4', messages: [{ role: 'user', content: code }] });
  return completion.choices[0]!.message.content;
}
`,
  );
  const result = await runVitest(project.dir, [], { timeoutMs: 90_000 });
  expect(result.tests.map((t) => `${t.status}: ${t.title}`), result.output).toEqual(['passed: debugs code', 'passed: a test can change the mock, for itself only']);
}, 120_000);
