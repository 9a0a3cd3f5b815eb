/**
 * `cassette-timing`: how closely a replay with `timing: recorded` keeps the
 * recorded timing. A cassette holds a 20-event Chat Completions stream with
 * its events 50 ms apart; the built CLI replays it (`--replay`), and a client
 * in this process notes when each event arrives. Reported: the error of each
 * event's arrival against its recorded offset (from the request's start), for
 * a client of the recorded API (the recorded bytes) and for an Anthropic
 * client (TokenPak's rendering of the same replay).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startProxyProcess, writeSectionConfig } from './lib/servers.ts';
import { median, percentile, round } from './lib/stats.ts';
import type { BenchContext, BenchSection, SectionResult } from './lib/types.ts';

const EVENTS = 20;
const GAP_MS = 50;
const FIRST_MS = 120;
const TARGET_MS = 5;

function writeFixtures(dir: string): { config: string; cassettes: string } {
  const cassettes = join(dir, 'cassettes');
  mkdirSync(cassettes, { recursive: true });
  const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
    JSON.stringify({ id: 'chatcmpl-bench', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o', choices: [{ index: 0, delta, finish_reason: finish }], usage: null });
  const events = [];
  for (let i = 0; i < EVENTS; i++) events.push({ at: FIRST_MS + i * GAP_MS, data: chunk(i === 0 ? { role: 'assistant', content: 'word0' } : { content: ` word${i}` }) });
  const end = FIRST_MS + EVENTS * GAP_MS;
  events.push({ at: end, data: chunk({}, 'stop') });
  events.push({ at: end, data: JSON.stringify({ id: 'chatcmpl-bench', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o', choices: [], usage: { prompt_tokens: 9, completion_tokens: EVENTS, total_tokens: 9 + EVENTS } }) });
  events.push({ at: end, data: '[DONE]' });
  const body = { model: 'gpt-4o', messages: [{ role: 'user', content: 'tell me a story' }], max_tokens: 4096, stream: true, stream_options: { include_usage: true } };
  const cassette = {
    version: 1,
    name: 'default',
    interactions: [
      {
        provider: 'openai',
        origin: 'https://api.openai.com',
        recorded_at: '2026-11-30T00:00:00.000Z',
        request: { method: 'POST', path: '/v1/chat/completions', body },
        response: { status: 200, headers: { 'content-type': 'text/event-stream; charset=utf-8' }, headers_ms: FIRST_MS - 5, duration_ms: end + 1, events },
      },
    ],
  };
  // JSON is YAML.
  writeFileSync(join(cassettes, 'default.cassette.yaml'), JSON.stringify(cassette, null, 2));
  const config = writeSectionConfig(dir, 'cassette-timing', {
    providers: { openai: { type: 'openai', api_key: '${OPENAI_API_KEY:-}', cassettes: { mode: 'replay', dir: cassettes, timing: 'recorded' } } },
    models: { 'gpt-4o': { provider: 'openai' } },
    logs: { store: 'memory' },
  });
  return { config, cassettes };
}

/** When each SSE event completed, in ms from the request's start, with its text. */
async function arrivals(url: string, body: unknown, headers: Record<string, string>): Promise<Array<{ at: number; text: string }>> {
  const started = performance.now();
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  if (response.status !== 200) throw new Error(`replay answered ${response.status}: ${await response.text()}`);
  const decoder = new TextDecoder();
  let buffer = '';
  const at: Array<{ at: number; text: string }> = [];
  for await (const chunk of response.body!) {
    buffer += decoder.decode(chunk as Uint8Array, { stream: true });
    const now = performance.now() - started;
    let end = buffer.indexOf('\n\n');
    while (end !== -1) {
      at.push({ at: now, text: buffer.slice(0, end) });
      buffer = buffer.slice(end + 2);
      end = buffer.indexOf('\n\n');
    }
  }
  return at;
}

async function run(context: BenchContext): Promise<SectionResult> {
  const { config } = writeFixtures(context.tmpDir);
  const proxy = await startProxyProcess(context, config);
  const expected = Array.from({ length: EVENTS }, (_, i) => FIRST_MS + i * GAP_MS);
  const clients = [
    {
      name: 'Chat Completions client (recorded bytes)',
      send: () => arrivals(`${proxy.url}/v1/chat/completions`, { model: 'gpt-4o', max_tokens: 4096, stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'tell me a story' }] }, {}),
      // The recorded events that carry a word.
      pick: (events: Array<{ at: number; text: string }>) => events.filter((e) => /"content":"[^"]/.test(e.text)).map((e) => e.at),
    },
    {
      name: 'Anthropic client (rendered)',
      send: () => arrivals(`${proxy.url}/v1/messages`, { model: 'gpt-4o', max_tokens: 4096, stream: true, messages: [{ role: 'user', content: 'tell me a story' }] }, { 'anthropic-version': '2023-06-01' }),
      // One text delta per recorded word (message_start, ping and content_block_start come first).
      pick: (events: Array<{ at: number; text: string }>) => events.filter((e) => e.text.startsWith('event: content_block_delta')).map((e) => e.at),
    },
  ];
  try {
    for (const c of clients) await c.send(); // warm-up
    const runs = context.quick ? 2 : 10;
    const errors = new Map(clients.map((c) => [c, [] as number[]]));
    const gaps = new Map(clients.map((c) => [c, [] as number[]]));
    for (let r = 0; r < runs; r++) {
      for (const c of clients) {
        const at = c.pick(await c.send());
        if (at.length !== EVENTS) throw new Error(`${c.name}: expected ${EVENTS} word events, got ${at.length}`);
        at.forEach((ms, i) => errors.get(c)!.push(ms - expected[i]!));
        for (let i = 1; i < at.length; i++) gaps.get(c)!.push(at[i]! - at[i - 1]! - GAP_MS);
      }
      context.log(`cassette-timing: run ${r + 1}/${runs}`);
    }
    const row = (label: string, values: number[]) => {
      const abs = values.map(Math.abs).sort((a, b) => a - b);
      return [label, values.length, round(median(values), 2), round(median(abs), 2), round(percentile(abs, 95), 2), round(Math.min(...values), 2), round(Math.max(...values), 2)];
    };
    const rows = clients.flatMap((c) => [row(`${c.name}: offset`, errors.get(c)!), row(`${c.name}: gap`, gaps.get(c)!)]);
    return {
      tables: [
        {
          title: `Replay with timing: recorded, ${EVENTS} events ${GAP_MS} ms apart from ${FIRST_MS} ms: arrival minus recorded offset`,
          columns: ['client', 'events', 'median ms', 'median |err| ms', 'p95 |err| ms', 'min ms', 'max ms'],
          rows,
          notes: [
            'offset: arrival minus the recorded offset from the request start (includes TokenPak receiving and routing the request);',
            `gap: time between two events minus the recorded ${GAP_MS} ms (how well the stream's own pacing is kept).`,
            'The proxy is the built CLI (--replay) in its own process; the clients run in the bench process on the same machine.',
          ],
        },
      ],
      targets: clients.map((c) => {
        const m = median(gaps.get(c)!.map(Math.abs));
        return { name: `replay pacing, median |gap error| (${c.name})`, target: `≤ ${TARGET_MS} ms`, measured: `${round(m, 2)} ms`, pass: m <= TARGET_MS };
      }),
      data: Object.fromEntries(clients.map((c) => [c.name, errors.get(c)])),
    };
  } finally {
    await proxy.stop();
  }
}

export const sections: BenchSection[] = [
  {
    name: 'cassette-timing',
    description: 'How closely a cassette replay with timing: recorded keeps the recorded event offsets',
    run,
  },
];
