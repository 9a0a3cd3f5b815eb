/**
 * Conversation-aware mock rules: every `when` condition, first match wins,
 * tool loops that end, list answers per conversation, the request's demands
 * (forced tool choice, JSON schema, JSON object) winning over canned answers,
 * and strict mode (`on_unmatched: error`).
 */
import { describe, expect, it } from 'vitest';
import type { ChatRequest, ChatResponse, Message, ToolDefinition } from '../../src/canonical/types.ts';
import type { TokenPakError } from '../../src/errors.ts';
import type { MockProvider } from '../../src/providers/mock/mock-provider.ts';
import { ask, events, failure, mockFromYaml, textOfComplete } from './mock-helpers.ts';

const user = (text: string): Message => ({ role: 'user', content: [{ type: 'text', text }] });
const toolCall = (id: string, name: string, args: unknown = {}): Message => ({
  role: 'assistant',
  content: [{ type: 'tool-call', id, name, arguments: JSON.stringify(args) }],
});
const toolResult = (id: string, content: string): Message => ({ role: 'tool', content: [{ type: 'tool-result', toolCallId: id, content }] });
const said = (text: string): Message => ({ role: 'assistant', content: [{ type: 'text', text }] });

const WEATHER_TOOL: ToolDefinition = {
  name: 'get_weather',
  parameters: {
    type: 'object',
    properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } },
    required: ['city', 'unit'],
    additionalProperties: false,
  },
};

const textOf = (response: ChatResponse) => response.content.map((p) => (p.type === 'text' ? p.text : '')).join('');
const callsOf = (response: ChatResponse) => response.content.flatMap((p) => (p.type === 'tool-call' ? [{ name: p.name, args: JSON.parse(p.arguments) as unknown }] : []));

/** Runs a tool loop as an agent does: call tools the mock asks for (answering with `results`), until it answers in text or `max` turns. */
async function runLoop(mock: MockProvider, first: ChatRequest, results: Record<string, string>, max = 6): Promise<string[]> {
  const messages = [...first.messages];
  const transcript: string[] = [];
  for (let turn = 0; turn < max; turn++) {
    const response = await mock.complete({ ...first, messages: [...messages] });
    const calls = response.content.filter((p) => p.type === 'tool-call');
    if (calls.length === 0) {
      transcript.push(`text: ${textOf(response)}`);
      return transcript;
    }
    messages.push({ role: 'assistant', content: response.content });
    for (const call of calls) {
      transcript.push(`call: ${call.name}(${call.arguments}) #${call.id}`);
      messages.push(toolResult(call.id, results[call.name] ?? 'ok'));
    }
  }
  transcript.push('(did not end)');
  return transcript;
}

describe('mock rules: each condition', () => {
  const RULES = `    responses:
      m:
        default: fallback
        rules:
          - name: by prompt
            when: {prompt: weather}
            answer: prompt matched
          - when: {prompt: "/^order #\\\\d+$/i"}
            answer: regex matched
          - when: {system: pirate}
            answer: system matched
          - when: {tools: [search, fetch_page]}
            answer: tools matched
          - when: {response_format: json_object}
            answer: '{"format": "matched"}'
          - when: {tool_choice: none}
            answer: tool_choice matched
          - when: {metadata: {suite: smoke}}
            answer: metadata matched
          - when: {header: {X-Test-Case: /^checkout-/}}
            answer: header matched
          - when: {turn: 2}
            answer: turn matched
          - when: {turn: {min: 4}}
            answer: late turn
`;

  it('matches the last user message by keyword and by /regex/', async () => {
    const mock = mockFromYaml(RULES);
    expect(await textOfComplete(mock, ask('What is the WEATHER?'))).toBe('prompt matched');
    expect(await textOfComplete(mock, ask('Order #42'))).toBe('regex matched');
    expect(await textOfComplete(mock, ask('Order #42 please'))).toBe('fallback');
    expect(mock.calls.map((c) => c.source)).toEqual([{ kind: 'rule', key: 'by prompt' }, { kind: 'rule', key: 'prompt "/^order #\\d+$/i"' }, { kind: 'default' }]);
  });

  it('matches the system prompt, the tools offered, the response format and the tool choice', async () => {
    const mock = mockFromYaml(RULES);
    expect(await textOfComplete(mock, ask('hi', { system: 'Talk like a pirate.' }))).toBe('system matched');
    const tools = ['search', 'fetch_page', 'other'].map((name) => ({ name, parameters: { type: 'object' } }));
    expect(await textOfComplete(mock, ask('hi', { tools }))).toBe('tools matched');
    // Every listed tool must be offered.
    expect(await textOfComplete(mock, ask('hi', { tools: tools.slice(0, 1) }))).toBe('fallback');
    expect(await textOfComplete(mock, ask('hi', { responseFormat: { type: 'json_object' } }))).toBe('{"format": "matched"}');
    expect(await textOfComplete(mock, ask('hi', { tools: tools.slice(2), toolChoice: { type: 'none' } }))).toBe('tool_choice matched');
  });

  it('matches request metadata and headers (any case; never credentials)', async () => {
    const mock = mockFromYaml(RULES);
    expect(await textOfComplete(mock, ask('hi', { metadata: { suite: 'smoke tests' } }))).toBe('metadata matched');
    expect(await textOfComplete(mock, ask('hi', { metadata: { other: 'smoke' } }))).toBe('fallback');
    const headers = new Headers({ 'x-test-case': 'checkout-empty-cart' });
    expect((await mock.complete(ask('hi'), { headers: { get: (n) => headers.get(n) } })).content).toEqual([{ type: 'text', text: 'header matched' }]);
    expect(await textOfComplete(mock, ask('hi'))).toBe('fallback');
  });

  it('matches the turn number: assistant turns so far in the request', async () => {
    const mock = mockFromYaml(RULES);
    const turns = (n: number): ChatRequest => ({ model: 'm', messages: [...Array.from({ length: n }, (_, i) => [user(`q${i}`), said(`a${i}`)]).flat(), user('again')] });
    expect(await textOfComplete(mock, turns(1))).toBe('fallback');
    expect(await textOfComplete(mock, turns(2))).toBe('turn matched');
    expect(await textOfComplete(mock, turns(3))).toBe('fallback');
    expect(await textOfComplete(mock, turns(6))).toBe('late turn');
  });

  it('needs every condition of a rule; the first matching rule wins, rules before patterns', async () => {
    const mock = mockFromYaml(`    responses:
      m:
        patterns:
          refund: from the pattern
        rules:
          - when: {prompt: refund, system: support}
            answer: both conditions
          - when: {prompt: refund}
            answer: first refund rule
          - when: {prompt: refund}
            answer: never reached
`);
    expect(await textOfComplete(mock, ask('refund please', { system: 'You are support.' }))).toBe('both conditions');
    expect(await textOfComplete(mock, ask('refund please'))).toBe('first refund rule');
  });

  it('matches what the conversation ends with: any tool result, one tool, or text in its result', async () => {
    const mock = mockFromYaml(`    responses:
      m:
        rules:
          - when: {tool_result: {name: get_weather, contains: /rain|snow/}}
            answer: Take an umbrella.
          - when: {tool_result: get_weather}
            answer: Enjoy the weather.
          - when: {tool_result: true}
            answer: Some tool answered.
          - when: {tool_result: false, prompt: tool}
            answer: No tool result yet.
`);
    const after = (name: string, result: string): ChatRequest => ({ model: 'm', messages: [user('tool time'), toolCall('c1', name), toolResult('c1', result)] });
    expect(await textOfComplete(mock, after('get_weather', 'Heavy rain'))).toBe('Take an umbrella.');
    expect(await textOfComplete(mock, after('get_weather', 'Sunny'))).toBe('Enjoy the weather.');
    expect(await textOfComplete(mock, after('lookup', 'x'))).toBe('Some tool answered.');
    expect(await textOfComplete(mock, ask('tool time'))).toBe('No tool result yet.');
    // A user message after the result: the conversation no longer ends with it.
    expect(await textOfComplete(mock, { model: 'm', messages: [...after('get_weather', 'rain').messages, user('tool time')] })).toBe('No tool result yet.');
  });
});

describe('mock rules: tool loops end by default', () => {
  const WEATHER = { model: 'm', tools: [WEATHER_TOOL], messages: [user('Weather in Paris?')] } satisfies ChatRequest;

  it('a plain tool_call pattern does not answer its own tool result again: the default answers it', async () => {
    const mock = mockFromYaml(`    responses:
      m:
        default: The canned default.
        patterns:
          weather: {tool_call: {name: get_weather, arguments: {city: Paris, unit: celsius}}}
`);
    const loop = await runLoop(mock, WEATHER, { get_weather: '18 °C, sunny' });
    expect(loop.map((l) => l.replace(/ #.*/, ''))).toEqual(['call: get_weather({"city":"Paris","unit":"celsius"})', 'text: The canned default.']);
  });

  it('with no default, a generated answer says what the tool returned', async () => {
    const mock = mockFromYaml(`    responses:
      m:
        patterns:
          weather: {tool_call: {name: get_weather, arguments: {city: Paris, unit: celsius}}}
`);
    const loop = await runLoop(mock, WEATHER, { get_weather: '18 °C, sunny' });
    expect(loop.at(-1)).toBe('text: Mock answer from m: get_weather returned "18 °C, sunny".');
    expect(mock.calls.at(-1)!.source).toEqual({ kind: 'generated' });
  });

  it('the next matching rule answers the tool result', async () => {
    const mock = mockFromYaml(`    responses:
      m:
        default: unused
        rules:
          - when: {prompt: weather}
            answer: {tool_call: {name: get_weather, arguments: {city: Paris, unit: celsius}}}
          - when: {tool_result: get_weather}
            answer: It is sunny in Paris.
`);
    const loop = await runLoop(mock, WEATHER, {});
    expect(loop.at(-1)).toBe('text: It is sunny in Paris.');
    expect(loop).toHaveLength(2);
  });

  it('repeat: true answers its own tool results again (the loop runs until another rule stops it)', async () => {
    const mock = mockFromYaml(`    responses:
      m:
        rules:
          - when: {tool_result: {contains: done}}
            answer: All pages read.
          - when: {prompt: read}
            answer: {tool_call: {name: next_page}}
            repeat: true
`);
    const pages = { model: 'm', tools: [{ name: 'next_page', parameters: { type: 'object' } }], messages: [user('read the book')] } satisfies ChatRequest;
    const messages = [...pages.messages];
    const seen: string[] = [];
    for (const result of ['page 1', 'page 2', 'done']) {
      const response = await mock.complete({ ...pages, messages: [...messages] });
      const call = response.content[0]!;
      seen.push(call.type === 'tool-call' ? call.name : textOf(response));
      if (call.type !== 'tool-call') break;
      messages.push({ role: 'assistant', content: response.content }, toolResult(call.id, result));
    }
    seen.push(textOf(await mock.complete({ ...pages, messages })));
    expect(seen).toEqual(['next_page', 'next_page', 'next_page', 'All pages read.']);
  });

  it('a list answer plays through one item per turn of the conversation, then stops calling tools', async () => {
    const mock = mockFromYaml(`    responses:
      m:
        default: list done
        patterns:
          weather:
            - {tool_call: {name: get_weather, arguments: {city: Paris, unit: celsius}}}
            - {tool_call: {name: get_weather, arguments: {city: Lyon, unit: celsius}}}
            - Paris and Lyon are sunny.
`);
    const loop = await runLoop(mock, WEATHER, {});
    expect(loop.map((l) => l.replace(/ #.*/, ''))).toEqual([
      'call: get_weather({"city":"Paris","unit":"celsius"})',
      'call: get_weather({"city":"Lyon","unit":"celsius"})',
      'text: Paris and Lyon are sunny.',
    ]);
  });

  it('a default tool call ends its loop too', async () => {
    const mock = mockFromYaml(`    responses:
      m:
        default: {tool_call: {name: get_weather, arguments: {city: Paris, unit: celsius}}}
`);
    const loop = await runLoop(mock, WEATHER, { get_weather: 'cloudy' });
    expect(loop.at(-1)).toBe('text: Mock answer from m: get_weather returned "cloudy".');
  });

  it('two concurrent tool-loop conversations get the same answers (and tool call ids) as when run alone', async () => {
    const yaml = `    seed: 7
    responses:
      m:
        default: Done.
        rules:
          - when: {prompt: weather}
            answer: [{tool_call: {name: get_weather, arguments: {city: Paris, unit: celsius}}}, {tool_call: {name: get_weather, arguments: {city: Rome, unit: celsius}}}, Both sunny.]
          - when: {prompt: stock}
            answer: {tool_call: {name: get_quote, arguments: {symbol: ACME}}}
          - when: {tool_result: get_quote}
            answer: ACME is up.
`;
    const weather = { model: 'm', tools: [WEATHER_TOOL], messages: [user('weather please')] } satisfies ChatRequest;
    const stock = { model: 'm', tools: [{ name: 'get_quote', parameters: { type: 'object' } }], messages: [user('stock please')] } satisfies ChatRequest;
    const alone = mockFromYaml(yaml);
    const aloneWeather = await runLoop(alone, weather, {});
    const aloneStock = await runLoop(alone, stock, {});
    for (let run = 0; run < 3; run++) {
      const shared = mockFromYaml(yaml);
      // Interleaved: each step of one loop waits on a step of the other.
      const [w, s] = await Promise.all([runLoop(shared, weather, {}), runLoop(shared, stock, {})]);
      expect(w).toEqual(aloneWeather);
      expect(s).toEqual(aloneStock);
    }
    expect(aloneWeather.at(-1)).toBe('text: Both sunny.');
    expect(aloneStock.at(-1)).toBe('text: ACME is up.');
  });

  it('a retried request gets the same answer', async () => {
    const mock = mockFromYaml(`    responses:\n      m:\n        default: [first, second]\n`);
    const request: ChatRequest = { model: 'm', messages: [user('a'), said('first'), user('b')] };
    expect([await textOfComplete(mock, request), await textOfComplete(mock, request)]).toEqual(['second', 'second']);
  });
});

describe('mock rules: the request demands win', () => {
  const DEFAULT_TEXT = `    responses:\n      m:\n        default: Just some text.\n`;

  it('a forced tool choice gets a call of that tool with arguments valid against its schema, not the canned text', async () => {
    const mock = mockFromYaml(DEFAULT_TEXT);
    const response = await mock.complete(ask('hi', { tools: [WEATHER_TOOL], toolChoice: { type: 'tool', name: 'get_weather' } }));
    expect(response.stopReason).toBe('tool-calls');
    const [call] = callsOf(response);
    expect(call!.name).toBe('get_weather');
    expect(call!.args).toEqual({ city: expect.any(String), unit: 'celsius' });
    expect(mock.calls[0]!.replaced).toBe(`the default answer is text, but the request's tool_choice demands a call of tool "get_weather": answered with a generated one instead`);
    expect(response.warnings).toEqual([mock.calls[0]!.replaced]);
  });

  it('tool_choice required gets a call of an offered tool', async () => {
    const mock = mockFromYaml(DEFAULT_TEXT);
    const response = await mock.complete(ask('hi', { tools: [WEATHER_TOOL], toolChoice: { type: 'required' } }));
    expect(callsOf(response).map((c) => c.name)).toEqual(['get_weather']);
  });

  it('a canned tool call that meets the forced choice is used as is; one with invalid arguments is replaced, naming the failing path', async () => {
    const mock = mockFromYaml(`    responses:
      m:
        patterns:
          good: {tool_call: {name: get_weather, arguments: {city: Oslo, unit: fahrenheit}}}
          bad: {tool_call: {name: get_weather, arguments: {city: Oslo, unit: kelvin}}}
`);
    const forced: Partial<ChatRequest> = { tools: [WEATHER_TOOL], toolChoice: { type: 'tool', name: 'get_weather' } };
    expect(callsOf(await mock.complete(ask('good', forced)))).toEqual([{ name: 'get_weather', args: { city: 'Oslo', unit: 'fahrenheit' } }]);
    expect(mock.calls[0]!.replaced).toBeUndefined();
    const replaced = await mock.complete(ask('bad', forced));
    expect(callsOf(replaced)[0]!.args).toEqual({ city: expect.any(String), unit: 'celsius' });
    expect(mock.calls[1]!.replaced).toMatch(/^the answer of pattern "bad" calls "get_weather" with arguments that do not match its input schema \(at \/unit: must be equal to one of the allowed values \["celsius","fahrenheit"\]\)/);
  });

  const SCHEMA = {
    type: 'json_schema',
    name: 'weather',
    schema: {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'object',
      properties: { city: { type: 'string' }, temp: { type: 'number' } },
      required: ['city', 'temp'],
      additionalProperties: false,
    },
  } as const;

  it('a json_schema format gets JSON valid against the schema instead of canned plain text, in both modes', async () => {
    const mock = mockFromYaml(DEFAULT_TEXT);
    const response = await mock.complete(ask('hi', { responseFormat: SCHEMA }));
    expect(JSON.parse(textOf(response))).toEqual({ city: expect.any(String), temp: expect.any(Number) });
    expect(mock.calls[0]!.replaced).toBe(`the default answer is not JSON, but the request's response format demands JSON matching schema "weather": answered with a generated one instead`);
    const streamed = await events(mock.stream(ask('hi', { responseFormat: SCHEMA })));
    expect(JSON.parse(streamed.events.map((e) => (e.type === 'text-delta' ? e.text : '')).join(''))).toEqual(JSON.parse(textOf(response)));
    expect(streamed.events.at(-1)).toMatchObject({ type: 'finish', warnings: [mock.calls[0]!.replaced] });
  });

  it('a canned json answer that matches the schema is used as is; one that does not is replaced, naming the failing path', async () => {
    const mock = mockFromYaml(`    responses:
      m:
        patterns:
          good: {json: {city: Oslo, temp: 3.5}}
          bad: {json: {city: Oslo, temp: cold}}
          extra: '{"city": "Oslo", "temp": 1, "wind": 3}'
`);
    expect(JSON.parse(textOf(await mock.complete(ask('good', { responseFormat: SCHEMA }))))).toEqual({ city: 'Oslo', temp: 3.5 });
    expect(mock.calls[0]!.replaced).toBeUndefined();
    expect(JSON.parse(textOf(await mock.complete(ask('bad', { responseFormat: SCHEMA }))))).toEqual({ city: expect.any(String), temp: expect.any(Number) });
    expect(mock.calls[1]!.replaced).toBe(`the answer of pattern "bad" does not match the request's JSON schema "weather" (at /temp: must be number): answered with a generated one instead`);
    await mock.complete(ask('extra', { responseFormat: SCHEMA }));
    expect(mock.calls[2]!.replaced).toContain('(at /: must NOT have additional properties ("wind"))');
  });

  it('under a json_schema format, a call of an offered tool is kept (agents call tools before their structured answer)', async () => {
    const mock = mockFromYaml(`    responses:\n      m:\n        default: {tool_call: {name: get_weather, arguments: {city: Oslo, unit: celsius}}}\n`);
    const response = await mock.complete(ask('hi', { tools: [WEATHER_TOOL], responseFormat: SCHEMA }));
    expect(callsOf(response)).toEqual([{ name: 'get_weather', args: { city: 'Oslo', unit: 'celsius' } }]);
    expect(mock.calls[0]!.replaced).toBeUndefined();
  });

  it('json_object gets a JSON object: canned JSON objects as is, anything else replaced', async () => {
    const mock = mockFromYaml(`    responses:\n      m:\n        default: Plain words.\n        patterns:\n          obj: '{"ok": true}'\n          arr: '[1, 2]'\n`);
    const json = { responseFormat: { type: 'json_object' } } as const;
    expect(JSON.parse(textOf(await mock.complete(ask('obj', json))))).toEqual({ ok: true });
    for (const prompt of ['plain', 'arr']) {
      const value: unknown = JSON.parse(textOf(await mock.complete(ask(prompt, json))));
      expect(value).toMatchObject({ model: 'm', answer: expect.any(String) });
    }
    expect(mock.calls.map((c) => c.replaced?.replace(/,.*/, ''))).toEqual([
      undefined,
      `the default answer is not JSON`,
      `the answer of pattern "arr" is JSON but not an object`,
    ]);
  });
});

describe('mock rules: strict mode (on_unmatched)', () => {
  const STRICT = (mode: string) => `    on_unmatched: ${mode}
    responses:
      m:
        default: The default.
        patterns:
          debug: Debugged.
        rules:
          - name: weather lookup
            when: {prompt: weather, tools: get_weather}
            answer: {tool_call: {name: get_weather, arguments: {city: Paris, unit: celsius}}}
`;

  it('error: an unmatched request fails with mock_unmatched, naming the closest rule and the near-miss keyword', async () => {
    const mock = mockFromYaml(STRICT('error'));
    expect(await textOfComplete(mock, ask('debug this'))).toBe('Debugged.');
    const error = (await failure(mock.complete(ask('Please debgu this')))) as TokenPakError;
    expect({ code: error.code, status: error.status, retryable: error.retryable }).toEqual({ code: 'mock_unmatched', status: 400, retryable: false });
    expect(error.detail).toBe(
      'Mock provider "mock": no rule matches this request to model "m" (turn 0), and on_unmatched is "error". Closest: pattern "debug", which needs prompt "debug". The last user message has "debgu". Did you mean "debug"? Add a rule for it, or set on_unmatched: default.',
    );
    const streamed = await events(mock.stream(ask('weather?')));
    expect((streamed.error as TokenPakError).detail).toContain('Closest: rule "weather lookup", which needs tools get_weather.');
    expect(mock.calls.map((c) => c.outcome)).toEqual(['ok', 'error', 'error']);
  });

  it('error: a tool loop whose result no rule answers fails loudly instead of falling back', async () => {
    const mock = mockFromYaml(STRICT('error'));
    const request: ChatRequest = { model: 'm', tools: [WEATHER_TOOL], messages: [user('weather?'), toolCall('c1', 'get_weather'), toolResult('c1', 'sunny')] };
    const error = (await failure(mock.complete(request))) as TokenPakError;
    expect(error.detail).toContain('(turn 1, ends with the result of get_weather, offers tools get_weather)');
  });

  it('generate: the default is skipped, unmatched requests get generated answers; default: the default answers', async () => {
    const generate = mockFromYaml(STRICT('generate'));
    expect(await textOfComplete(generate, ask('hello'))).toMatch(/^Mock answer from m: /);
    expect(generate.calls[0]!.source).toEqual({ kind: 'generated' });
    const fallback = mockFromYaml(STRICT('default'));
    expect(await textOfComplete(fallback, ask('hello'))).toBe('The default.');
  });

  it('can be switched at run time with configure()', async () => {
    const mock = mockFromYaml(STRICT('default'));
    mock.configure({ on_unmatched: 'error' });
    expect(((await failure(mock.complete(ask('hello')))) as TokenPakError).code).toBe('mock_unmatched');
  });
});

describe('mock rules: setRules (JavaScript API)', () => {
  it('adds rules before the existing ones, or replaces them; RegExps and functions are accepted', async () => {
    const mock = mockFromYaml(`    responses:\n      m:\n        rules:\n          - {when: {prompt: hi}, answer: from yaml}\n`);
    mock.setRules('m', [{ when: { prompt: /^hi$/i }, answer: (request) => `exact, ${request.messages.length} message(s)` }]);
    expect(await textOfComplete(mock, ask('HI'))).toBe('exact, 1 message(s)');
    expect(await textOfComplete(mock, ask('hi there'))).toBe('from yaml');
    mock.setRules('m', [{ name: 'only', answer: 'replaced' }], { replace: true });
    expect(await textOfComplete(mock, ask('hi there'))).toBe('replaced');
    expect(mock.calls.at(-1)!.source).toEqual({ kind: 'rule', key: 'only' });
  });
});

describe('mock rules: checked like the rest of the config', () => {
  const load = (rules: string) => () => mockFromYaml(`    responses:\n      m:\n        rules:\n${rules}`);

  it('an unknown condition fails with its position, a did-you-mean and the known conditions', () => {
    expect(load(`          - when: {tool_results: get_weather}\n            answer: x\n`)).toThrow(
      '<inline>:7:20: providers.mock.responses.m.rules[0].when.tool_results: unknown key "tool_results". Did you mean "tool_result"? Known keys here: prompt, system, tool_result, turn, tools, response_format, tool_choice, metadata, header.',
    );
  });

  it('a bad turn, a rule without an answer and an unknown on_unmatched fail, each with the fix', () => {
    expect(() =>
      mockFromYaml(`    on_unmatched: eror\n    responses:\n      m:\n        rules:\n          - when: {turn: -1}\n            answer: x\n          - when: {prompt: hi}\n`),
    ).toThrow(
      [
        '3 problems:',
        '  <inline>:4:19: providers.mock.on_unmatched: must be "default", "generate" or "error"',
        '  <inline>:8:26: providers.mock.responses.m.rules[0].when.turn: must be 0 or more (assistant turns so far)',
        '  <inline>:10:13: providers.mock.responses.m.rules.1.answer: is required: the answer (a text, an answer object, or a list of them)',
      ].join('\n'),
    );
  });

  it('a /regex/ condition that does not compile fails at load, with its position', () => {
    expect(load(`          - when: {tool_result: {contains: "/(unclosed/"}}\n            answer: x\n`)).toThrow(
      /<inline>:7:44: providers\.mock\.responses\.m\.rules\[0\]\.when\.tool_result\.contains: "\/\(unclosed\/" is not a valid regular expression: .*Write a plain keyword, or fix the expression\./,
    );
  });

  it('setRules() checks its rules as a config file would', () => {
    const mock = mockFromYaml('');
    expect(() => mock.setRules('m', [{ when: { promt: 'hi' } as never, answer: 'x' }])).toThrow(
      'Mock provider "mock": setRules("m", …): rules[0].when.promt: unknown key. Did you mean "prompt"? Known keys here: prompt, system, tool_result, turn, tools, response_format, tool_choice, metadata, header.',
    );
    expect(() => mock.setRules('m', [{ when: { prompt: /ok/ }, answer: { txt: 'x' } as never }])).toThrow(/rules\[0\]\.answer\.txt: unknown key\. Did you mean "text"\?/);
  });
});

describe("the README's mock rules example", () => {
  it('loads, runs the weather tool loop to its end, and is strict about the rest', async () => {
    const { readFileSync } = await import('node:fs');
    const { parseConfig } = await import('../../src/config/load.ts');
    const { createMockProvider } = await import('../../src/providers/mock/mock-provider.ts');
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const yaml = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!).find((block) => block.includes('name: weather lookup'));
    expect(yaml).toBeDefined();
    const settings = parseConfig(yaml!, { env: {} }).providers.mock!;
    if (settings.type !== 'mock') throw new Error('not a mock');
    const mock = createMockProvider('mock', settings);
    const weather: ChatRequest = { model: 'gpt-4o', tools: [WEATHER_TOOL], messages: [user('What is the weather in Paris?')] };
    expect(await runLoop(mock, weather, { get_weather: 'Light rain, 12 °C' })).toEqual([
      expect.stringMatching(/^call: get_weather\(\{"city":"Paris","unit":"celsius"\}\)/),
      'text: Take an umbrella.',
    ]);
    expect((await runLoop(mock, weather, { get_weather: 'Sunny' })).at(-1)).toBe('text: It is sunny in Paris.');
    const json = await mock.complete(ask('extract the city', { model: 'gpt-4o', system: 'You extract data.', responseFormat: { type: 'json_schema', schema: { type: 'object', properties: { city: { type: 'string' }, temperature: { type: 'number' } } } } }));
    expect(JSON.parse(textOf(json))).toEqual({ city: 'Paris', temperature: 18 });
    expect(((await failure(mock.complete(ask('debgu', { model: 'gpt-4o' })))) as TokenPakError).detail).toContain('Did you mean "debug"?');
  });
});
