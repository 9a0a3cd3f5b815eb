/**
 * Record once against the (fake) real APIs, then replay with the APIs gone:
 * same-format clients get the recorded bytes, event boundaries and order
 * included; other formats get the same text, tool calls and usage.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { fixture, fixtureJson, replies, type FakeUpstream } from '../support/fake-upstream.ts';
import { anthropicBody, openaiBody, post, proxyWith, realConfig, sseEvents, tempDir, urlsOf, useFakes } from './helpers.ts';

const fakes = useFakes();
let openai: FakeUpstream;
let anthropic: FakeUpstream;
let scratch: ReturnType<typeof tempDir>;
beforeEach(() => ({ openai, anthropic, scratch } = fakes));

/** Records the given requests through a proxy, then stops the fakes: from here on nothing answers but the cassettes. */
async function record(requests: Array<() => Promise<unknown>> | ((url: string) => Promise<unknown>)[]) {
  const proxy = await proxyWith(realConfig(urlsOf(openai, anthropic), { mode: 'record', dir: scratch.dir }));
  try {
    for (const send of requests) await send(proxy.url);
  } finally {
    await proxy.close();
  }
  await Promise.all([openai.close(), anthropic.close()]);
}

const replayProxy = (timing: 'instant' | 'recorded' = 'instant') =>
  proxyWith(realConfig(urlsOf(openai, anthropic), { mode: 'replay', dir: scratch.dir, timing }));

describe('OpenAI Chat Completions recorded', () => {
  it('replays a stream to a Chat Completions client byte for byte, event boundaries and order included', async () => {
    const ask = openaiBody('capital of France?', { stream: true, stream_options: { include_usage: true } });
    const direct = await post(`${openai.baseUrl}/chat/completions`, ask, { authorization: 'Bearer sk-proj-fakeOpenAIkey0123456789abcdefXq9Z' });
    expect(direct.status).toBe(200);
    await record([(url) => post(`${url}/v1/chat/completions`, openaiBody('capital of France?', { stream: true }))]);

    const proxy = await replayProxy();
    try {
      // A client that did not ask for usage gets TokenPak's rendering: no usage chunk it did not ask for.
      const rendered = await post(`${proxy.url}/v1/chat/completions`, openaiBody('capital of France?', { stream: true }));
      expect(rendered.status).toBe(200);
      expect(rendered.text).not.toContain('"obfuscation"');
      expect(rendered.text).not.toContain('"usage":{');
      const replayed = await post(`${proxy.url}/v1/chat/completions`, ask);
      expect(replayed.status).toBe(200);
      expect(replayed.headers.get('content-type')).toMatch(/text\/event-stream/);
      expect(replayed.text).toBe(direct.text);
      expect(sseEvents(replayed.text)).toEqual(sseEvents(direct.text));
      // Fields TokenPak's own rendering would not write survive the replay.
      expect(replayed.text).toContain('"obfuscation"');
      expect(replayed.headers.get('x-tokenpak-provider')).toBe('openai');
    } finally {
      await proxy.close();
    }
  });

  it('replays a JSON answer to a Chat Completions client byte for byte', async () => {
    const direct = await post(`${openai.baseUrl}/chat/completions`, openaiBody('capital of France?'), { authorization: 'Bearer sk-proj-fakeOpenAIkey0123456789abcdefXq9Z' });
    await record([(url) => post(`${url}/v1/chat/completions`, openaiBody('capital of France?'))]);
    const proxy = await replayProxy();
    try {
      const replayed = await post(`${proxy.url}/v1/chat/completions`, openaiBody('capital of France?'));
      expect(replayed.status).toBe(200);
      expect(replayed.text).toBe(direct.text);
      expect(Number(replayed.headers.get('x-tokenpak-cost-cents'))).toBeGreaterThan(0);

      // A Responses client asking the same question gets the recorded text in its own format.
      const viaResponses = await post(`${proxy.url}/v1/responses`, { model: 'gpt-4', input: 'capital of France?' });
      expect(viaResponses.status).toBe(200);
      expect(JSON.parse(viaResponses.text).output[0].content[0].text).toBe(JSON.parse(direct.text).choices[0].message.content);
    } finally {
      await proxy.close();
    }
  });

  it('replays the same stream to an Anthropic client with the same tool call and usage', async () => {
    openai.fallback = replies.answer('openai-chat-tool');
    const ask = openaiBody('weather in Paris?', {
      stream: true,
      max_tokens: 4096,
      stream_options: { include_usage: true },
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }],
    });
    let recorded = '';
    await record([async (url) => (recorded = (await post(`${url}/v1/chat/completions`, ask)).text)]);
    const proxy = await replayProxy();
    try {
      // The canonical request a Messages client sends for the same question is the same upstream request.
      const viaAnthropic = await post(`${proxy.url}/v1/messages`, {
        model: 'gpt-4',
        max_tokens: 4096,
        stream: true,
        messages: [{ role: 'user', content: 'weather in Paris?' }],
        tools: [{ name: 'get_weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }],
      }, { 'anthropic-version': '2023-06-01' });
      const expectedArgs = JSON.parse(JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/upstream/openai-chat-tool.json'), 'utf8')).choices[0].message.tool_calls[0].function.arguments);
      if (viaAnthropic.status !== 200) throw new Error(viaAnthropic.text);
      const events = sseEvents(viaAnthropic.text).map((e) => JSON.parse(e.split('\n').find((l) => l.startsWith('data: '))!.slice(6)));
      const toolStart = events.find((e) => e.type === 'content_block_start' && e.content_block.type === 'tool_use');
      expect(toolStart.content_block.name).toBe('get_weather');
      const args = events.filter((e) => e.type === 'content_block_delta' && e.delta.type === 'input_json_delta').map((e) => e.delta.partial_json).join('');
      expect(JSON.parse(args)).toEqual(expectedArgs);
      const usage = events.find((e) => e.type === 'message_delta').usage;
      const recordedUsage = sseEvents(recorded).map((e) => e.slice(6)).filter((d) => d.startsWith('{')).map((d) => JSON.parse(d)).find((c) => c.usage)?.usage;
      expect(usage.output_tokens).toBe(recordedUsage.completion_tokens);
    } finally {
      await proxy.close();
    }
  });
});

describe('Anthropic Messages recorded', () => {
  it('replays a stream to a Messages client byte for byte and to a Chat Completions client as the same text', async () => {
    const recorder = await proxyWith(realConfig(urlsOf(openai, anthropic), { mode: 'record', dir: scratch.dir }));
    await post(`${recorder.url}/v1/messages`, anthropicBody('capital of France?', { stream: true }), { 'anthropic-version': '2023-06-01' });
    await recorder.close();
    // What the API sends for the request TokenPak made (the route names the upstream model).
    const direct = await post(`${anthropic.url}/v1/messages`, anthropic.requests[0]!.body, {
      'x-api-key': 'sk-ant-api03-fakeAnthropicKey0123456789-abcdefAA',
      'anthropic-version': '2023-06-01',
    });
    expect(direct.status).toBe(200);
    await Promise.all([openai.close(), anthropic.close()]);
    const proxy = await replayProxy();
    try {
      const replayed = await post(`${proxy.url}/v1/messages`, anthropicBody('capital of France?', { stream: true }), { 'anthropic-version': '2023-06-01' });
      expect(replayed.text).toBe(direct.text);
      expect(sseEvents(replayed.text).length).toBe(sseEvents(fixture('anthropic-messages-text.sse.txt')).length);

      const asOpenAI = await post(`${proxy.url}/v1/chat/completions`, { model: 'claude-3-sonnet', max_tokens: 256, stream: true, messages: [{ role: 'user', content: 'capital of France?' }] });
      const text = sseEvents(asOpenAI.text)
        .map((e) => e.slice(6).trim())
        .filter((d) => d.startsWith('{'))
        .map((d) => JSON.parse(d).choices?.[0]?.delta?.content ?? '')
        .join('');
      const recordedText = sseEvents(direct.text)
        .map((e) => e.split('\n').find((l) => l.startsWith('data: '))!.slice(6))
        .map((d) => JSON.parse(d))
        .filter((e) => e.type === 'content_block_delta')
        .map((e) => e.delta.text)
        .join('');
      expect(text).toBe(recordedText);
    } finally {
      await proxy.close();
    }
  });
});

describe('errors, retries and misses', () => {
  it('replays a recorded 500-then-200 exchange as the retry it was, and the client gets the answer', async () => {
    openai.reply(replies.status(500, JSON.parse(fixture('openai-error-server.json'))));
    await record([(url) => post(`${url}/v1/chat/completions`, openaiBody('flaky'))]);
    const file = readFileSync(join(scratch.dir, 'default.cassette.yaml'), 'utf8');
    expect(file.match(/status: (\d+)/g)).toEqual(['status: 500', 'status: 200']);
    const proxy = await replayProxy();
    try {
      const replayed = await post(`${proxy.url}/v1/chat/completions`, openaiBody('flaky'));
      expect(replayed.status).toBe(200);
      expect(JSON.parse(replayed.text).choices[0].message.content).toBe(fixtureJson('openai-chat-text.json').choices[0].message.content);
    } finally {
      await proxy.close();
    }
  });

  it('replays a recorded 400 as the same error to the client', async () => {
    openai.reply(replies.status(400, JSON.parse(fixture('openai-error-invalid.json'))));
    let recorded: { status: number; text: string } | undefined;
    await record([async (url) => (recorded = await post(`${url}/v1/chat/completions`, openaiBody('bad one')))]);
    const proxy = await replayProxy();
    try {
      const replayed = await post(`${proxy.url}/v1/chat/completions`, openaiBody('bad one'));
      expect(replayed.status).toBe(400);
      expect(JSON.parse(replayed.text).error.message).toBe(JSON.parse(recorded!.text).error.message);
    } finally {
      await proxy.close();
    }
  });

  it('answers a request no cassette holds with the closest recorded request and how it differs', async () => {
    await record([(url) => post(`${url}/v1/chat/completions`, openaiBody('capital of France?', { temperature: 0.2 }))]);
    const proxy = await replayProxy();
    try {
      const missed = await post(`${proxy.url}/v1/chat/completions`, openaiBody('capital of Spain?', { temperature: 0.2 }));
      expect(missed.status).toBe(404);
      const message: string = JSON.parse(missed.text).error.message;
      expect(message).toContain('No recorded answer');
      expect(message).toContain('- "content": "capital of France?"');
      // TokenPak's own diff is not masked like text an upstream echoed (logs.capture_bodies is off here).
      expect(message).toContain('+ "content": "capital of Spain?"');
      expect(message).not.toContain('[prompt text]');
      expect(message).not.toContain('temperature');
    } finally {
      await proxy.close();
    }
  });

  it('gives repeated identical requests the recordings in order', async () => {
    openai.reply(replies.answer('openai-chat-text'), replies.answer('openai-chat-tool'));
    await record([
      (url) => post(`${url}/v1/chat/completions`, openaiBody('same question')),
      (url) => post(`${url}/v1/chat/completions`, openaiBody('same question')),
    ]);
    const proxy = await replayProxy();
    try {
      const first = JSON.parse((await post(`${proxy.url}/v1/chat/completions`, openaiBody('same question'))).text);
      const second = JSON.parse((await post(`${proxy.url}/v1/chat/completions`, openaiBody('same question'))).text);
      expect(first.choices[0].finish_reason).toBe('stop');
      expect(second.choices[0].finish_reason).toBe('tool_calls');
    } finally {
      await proxy.close();
    }
  });

  it('keeps scenarios apart by the x-tokenpak-cassette header, one file each', async () => {
    await record([
      (url) => post(`${url}/v1/chat/completions`, openaiBody('hello'), { 'x-tokenpak-cassette': 'checkout/happy path' }),
      (url) => post(`${url}/v1/messages`, anthropicBody('hello'), { 'anthropic-version': '2023-06-01', 'x-tokenpak-cassette': 'refunds' }),
    ]);
    expect(readdirSync(scratch.dir, { recursive: true }).map(String).filter((f) => f.endsWith('.yaml')).sort()).toEqual(['checkout/happy-path.cassette.yaml', 'refunds.cassette.yaml']);
    const proxy = await replayProxy();
    try {
      expect((await post(`${proxy.url}/v1/chat/completions`, openaiBody('hello'), { 'x-tokenpak-cassette': 'checkout/happy path' })).status).toBe(200);
      // The same request under another scenario was never recorded there.
      expect((await post(`${proxy.url}/v1/chat/completions`, openaiBody('hello'), { 'x-tokenpak-cassette': 'refunds' })).status).toBe(404);
    } finally {
      await proxy.close();
    }
  });
});

describe('timing', () => {
  it('replays events no earlier than recorded with timing: recorded, and all at once with instant', async () => {
    openai.fallback = replies.answer('openai-chat-text', { chunkDelayMs: 40 });
    await record([(url) => post(`${url}/v1/chat/completions`, openaiBody('slow one', { stream: true }))]);
    const cassette = readFileSync(join(scratch.dir, 'default.cassette.yaml'), 'utf8');
    const offsets = [...cassette.matchAll(/- at: (\d+)/g)].map((m) => Number(m[1]));
    const recordedSpan = offsets.at(-1)! - offsets[0]!;
    expect(recordedSpan).toBeGreaterThan(300);

    const recorded = await replayProxy('recorded');
    try {
      const replayed = await post(`${recorded.url}/v1/chat/completions`, openaiBody('slow one', { stream: true }));
      const span = replayed.arrivals.at(-1)!.at - replayed.arrivals[0]!.at;
      // A replay can run late on a busy machine, never early: it waits for each recorded offset.
      expect(span).toBeGreaterThanOrEqual(recordedSpan - 45);
    } finally {
      await recorded.close();
    }
    const instant = await replayProxy('instant');
    try {
      const replayed = await post(`${instant.url}/v1/chat/completions`, openaiBody('slow one', { stream: true }));
      const span = replayed.arrivals.at(-1)!.at - replayed.arrivals[0]!.at;
      expect(span).toBeLessThan(recordedSpan / 2);
    } finally {
      await instant.close();
    }
  });
});

describe('startProxy', () => {
  it('records and replays from the config alone, as the README\'s Vitest global setup does', async () => {
    const { startProxy } = await import('../../src/server/proxy.ts');
    const recordConfig = realConfig(urlsOf(openai, anthropic), { mode: 'record', dir: scratch.dir });
    const recorder = await startProxy({ config: recordConfig, port: 0, host: '127.0.0.1' });
    const live = await post(`${recorder.url}/v1/chat/completions`, openaiBody('from the config'));
    await recorder.close();
    await Promise.all([openai.close(), anthropic.close()]);
    const replayer = await startProxy({ config: realConfig(urlsOf(openai, anthropic), { mode: 'replay', dir: scratch.dir, timing: 'instant' }), port: 0, host: '127.0.0.1' });
    try {
      const replayed = await post(`${replayer.url}/v1/chat/completions`, openaiBody('from the config'));
      expect(replayed.status).toBe(200);
      expect(JSON.parse(replayed.text).choices[0].message.content).toBe(JSON.parse(live.text).choices[0].message.content);
    } finally {
      await replayer.close();
    }
  });
});
