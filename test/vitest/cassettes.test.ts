/**
 * Cassettes in a Vitest suite as users run it: a fixture project (real
 * `openai` SDK, the tokenpak() plugin with `cassette: { mode: 'replay' }`)
 * records against a local fake of the OpenAI API with TOKENPAK_RECORD=1,
 * replays with the fake stopped, and re-records with `vitest -u`.
 */
import { copyFileSync, existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeOpenAI, FAKE_OPENAI_KEY, type FakeUpstream } from '../support/fake-upstream.ts';
import { linkedProject, REPO, runVitest, type TempProject, type VitestRun } from './harness.ts';

let project: TempProject;
let fake: FakeUpstream;
let fakeUrl: string;
let recorded: VitestRun;
let replayed: VitestRun;
/** What the fake sends for the streamed and the named test's request, asked directly. */
const direct = { stream: '', json: '' };
const cassettes = () => join(project.dir, 'cassettes');
const received = (name: string) => readFileSync(join(project.dir, 'received', name), 'utf8');

/** Every cassette file under the project's cassettes/, relative to it. */
function cassetteFiles(): string[] {
  return (readdirSync(cassettes(), { recursive: true }) as string[]).filter((f) => f.endsWith('.cassette.yaml')).map((f) => f.split('\\').join('/')).sort();
}

function statuses(run: VitestRun): Record<string, string> {
  return Object.fromEntries(run.tests.map((t) => [t.title, t.status]));
}

beforeAll(async () => {
  project = linkedProject(join(REPO, 'test/vitest/fixtures/cassettes'));
  fake = await createFakeOpenAI();
  fakeUrl = fake.baseUrl;
  const ask = async (body: object) => {
    const response = await fetch(`${fake.baseUrl}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${FAKE_OPENAI_KEY}` },
      body: JSON.stringify({ model: 'gpt-4', ...body }),
    });
    return response.text();
  };
  direct.stream = await ask({ messages: [{ role: 'user', content: 'stream it' }], stream: true, stream_options: { include_usage: true } });
  direct.json = await ask({ messages: [{ role: 'user', content: 'say hello' }] });
  recorded = await runVitest(project.dir, [], { timeoutMs: 90_000, env: { TOKENPAK_RECORD: '1', FAKE_OPENAI_URL: fakeUrl, OPENAI_API_KEY: FAKE_OPENAI_KEY } });
  await fake.close();
  // A cassette whose test is gone: the replay run must report it.
  copyFileSync(join(cassettes(), 'chat.spec/answers-a-question.cassette.yaml'), join(cassettes(), 'chat.spec/a-removed-test.cassette.yaml'));
  // The API is gone and no key is set: the replay needs neither.
  replayed = await runVitest(project.dir, [], { timeoutMs: 90_000, env: { FAKE_OPENAI_URL: fakeUrl, MISS_PROMPT: 'capital of Portugal?' } });
}, 200_000);

afterAll(() => project?.cleanup());

describe('record once (TOKENPAK_RECORD=1), replay with the API stopped', () => {
  it('records every test against the API, one cassette per test, named after the file and the test', () => {
    const { 'same title!': collided, ...others } = statuses(recorded);
    expect(collided).toBe('failed');
    expect(Object.values(others)).toEqual(Array(11).fill('passed'));
    // Twelve tests, one call each (two for the retried one, none for the one refused), and the two direct requests above.
    expect(fake.requests.filter((r) => r.path.endsWith('/chat/completions'))).toHaveLength(14);
    expect(cassetteFiles()).toEqual([
      'chat.spec/a-changed-prompt.cassette.yaml',
      'chat.spec/a-removed-test.cassette.yaml',
      'chat.spec/a-retried-test.cassette.yaml',
      'chat.spec/answers-a-question.cassette.yaml',
      'chat.spec/concurrent-one.cassette.yaml',
      'chat.spec/concurrent-two.cassette.yaml',
      'chat.spec/streaming/streams-an-answer-event-by-event.cassette.yaml',
      'collide.spec/same-title.cassette.yaml',
      'shared/greeting.cassette.yaml',
      'whole-file.cassette.yaml',
    ]);
    const answer = readFileSync(join(cassettes(), 'chat.spec/answers-a-question.cassette.yaml'), 'utf8');
    expect(answer).toContain('name: chat.spec/answers-a-question');
    expect(answer).toContain('content: capital of France?');
    expect(answer).not.toContain(FAKE_OPENAI_KEY);
  });

  it('refuses to give two tests one default cassette by accident, saying how to name one', () => {
    const message = recorded.byTitle('same title!').failureMessages.join('\n');
    expect(message).toContain('Two tests of this file get the same cassette name "collide.spec/same-title"');
    expect(message).toContain("useTokenPak({ cassette: 'a name' })");
    expect(readFileSync(join(cassettes(), 'collide.spec/same-title.cassette.yaml'), 'utf8')).not.toContain('collide two');
  });

  it('starts a retried test\'s cassette afresh: it holds the last attempt\'s exchange only', () => {
    const text = readFileSync(join(cassettes(), 'chat.spec/a-retried-test.cassette.yaml'), 'utf8');
    expect(text.match(/^ {2}- provider: openai$/gm)).toHaveLength(1);
    expect(replayed.byTitle('a retried test').status).toBe('passed');
  });

  it('keeps concurrent tests apart: each cassette holds its own test\'s exchange only', () => {
    for (const [file, prompt, other] of [
      ['concurrent-one', 'first of two', 'second of two'],
      ['concurrent-two', 'second of two', 'first of two'],
    ] as const) {
      const text = readFileSync(join(cassettes(), `chat.spec/${file}.cassette.yaml`), 'utf8');
      expect(text.match(/^ {2}- provider: openai$/gm)).toHaveLength(1);
      expect(text).toContain(`content: ${prompt}`);
      expect(text).not.toContain(other);
    }
  });

  it('gives a file-level cassette name to every test of the file, and records nothing with cassette: false', () => {
    const shared = readFileSync(join(cassettes(), 'whole-file.cassette.yaml'), 'utf8');
    expect(shared.match(/content: file question (one|two)/g)).toEqual(['content: file question one', 'content: file question two']);
    for (const file of cassetteFiles()) expect(readFileSync(join(cassettes(), file), 'utf8')).not.toContain('not recorded');
    expect(statuses(replayed)).toMatchObject({ 'first question of the file': 'passed', 'second question of the file': 'passed' });
    // With the API stopped, the test whose cassettes are off reached for it (TokenPak could not connect).
    expect(received('off.txt')).toMatch(/^failed: 502 OpenAI provider "openai" refused the connection/);
  });

  it('replays with the API stopped: the tests pass, and a streaming client gets the bytes the API sent, event boundaries included', () => {
    expect(statuses(replayed)).toMatchObject({
      'answers a question': 'passed',
      'streams an answer, event by event': 'passed',
      'a named cassette': 'passed',
      'concurrent one': 'passed',
      'concurrent two': 'passed',
    });
    expect(received('stream.txt')).toBe(direct.stream);
    expect(received('stream.txt').split('\n\n').length).toBeGreaterThan(10);
    expect(received('named.txt')).toBe(direct.json);
  });

  it('fails a request no cassette holds, naming the closest recorded request and how it differs', () => {
    const missed = replayed.byTitle('a changed prompt');
    expect(missed.status).toBe('failed');
    const message = missed.failureMessages.join('\n');
    expect(message).toContain('No recorded answer for this POST /v1/chat/completions in cassette "chat.spec/a-changed-prompt"');
    expect(message).toContain('- "content": "capital of Spain?"');
    expect(message).toContain('+ "content": "capital of Portugal?"');
  });

  it('names the cassettes no test used at the end of the run', () => {
    expect(replayed.output).toMatch(/\[tokenpak\] 1 cassette in cassettes\/ went unused in this run[^\n]*\n {2}chat\.spec\/a-removed-test\.cassette\.yaml\n/);
    // The cassette of the test whose request missed was used; only the orphan is named.
    expect(replayed.output).not.toContain('  chat.spec/a-changed-prompt.cassette.yaml');
    expect(recorded.output).not.toContain("went unused");
    expect(existsSync(join(cassettes(), 'chat.spec/a-removed-test.cassette.yaml'))).toBe(true);
  });
});

describe('vitest -u', () => {
  it('re-records every cassette from the API', async () => {
    const again = await createFakeOpenAI();
    try {
      const before = readFileSync(join(cassettes(), 'chat.spec/answers-a-question.cassette.yaml'), 'utf8');
      const run = await runVitest(project.dir, ['-u'], { timeoutMs: 90_000, env: { FAKE_OPENAI_URL: again.baseUrl, OPENAI_API_KEY: FAKE_OPENAI_KEY } });
      expect(run.tests.filter((t) => t.status !== 'passed').map((t) => t.title)).toEqual(['same title!']);
      expect(again.requests.filter((r) => r.path.endsWith('/chat/completions'))).toHaveLength(12);
      const after = readFileSync(join(cassettes(), 'chat.spec/answers-a-question.cassette.yaml'), 'utf8');
      expect(after).toContain(`origin: ${new URL(again.baseUrl).origin}`);
      expect(before).not.toContain(`origin: ${new URL(again.baseUrl).origin}`);
    } finally {
      await again.close();
    }
  }, 100_000);
});
