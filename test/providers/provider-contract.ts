/**
 * The one contract suite every provider passes (STYLE rule 4).
 *
 * A provider test calls `runProviderContract(name, setup)`. `setup.makeProvider(scenario)`
 * builds a provider that, for every request it gets, behaves as the scenario says:
 *
 * - `text`: answers `setup.expected.text` (or {@link CONTRACT_TEXT}), both from
 *   `complete()` and from `stream()`.
 * - `tool-call`: answers one call of tool `expected.toolCall.name` with the JSON
 *   arguments `expected.toolCall.arguments` (default {@link CONTRACT_TOOL_CALL}).
 * - `rate-limit`: the upstream answers HTTP 429 (with `retry-after:
 *   expected.retryAfterSeconds` when the setup gives one).
 * - `server-error`: the upstream answers `expected.serverErrorStatus` (default 503).
 * - `bad-request`: the upstream answers HTTP 400.
 * - `slow`: the upstream would answer the text only after many seconds (at least
 *   10): the call must stop when its signal is aborted.
 *
 * In the `text` scenario `embed()` answers vectors (or, for a provider without
 * embeddings, a retryable `unsupported_endpoint` error) and `countTokens()` a
 * positive count; in `server-error`, `embed()` fails as `complete()` does.
 *
 * A provider backed by a fake HTTP upstream implements the scenarios by choosing
 * what the fake sends; the mock implements them with its own config. Checks can
 * be skipped only with a reason (`setup.skip[check] = 'why'`), which is printed
 * as the test's name.
 */
import { describe, expect, it } from 'vitest';
import type { ChatRequest, ChatResponse, StreamEvent } from '../../src/canonical/types.ts';
import { textOf } from '../../src/canonical/types.ts';
import { TokenPakError } from '../../src/errors.ts';
import type { Provider } from '../../src/providers/types.ts';

/** What the provider under test is set up to do. */
export type ProviderScenario = 'text' | 'tool-call' | 'rate-limit' | 'server-error' | 'bad-request' | 'slow';

/** The default known answer of the `text` scenario. */
export const CONTRACT_TEXT = 'The contract answer is 42, and it spans several words.';

/** The default known tool call of the `tool-call` scenario. */
export const CONTRACT_TOOL_CALL = {
  name: 'get_weather',
  arguments: { city: 'Paris', unit: 'celsius', days: 3 },
} as const;

/** A provider built for one scenario, and how to tear it (and its fake upstream) down. */
export interface ProviderUnderTest {
  provider: Provider;
  cleanup?: () => Promise<void> | void;
}

/** The checks of the suite, by name (for skips). */
export type ContractCheck =
  | 'identity'
  | 'complete-text'
  | 'stream-text'
  | 'stream-early-return'
  | 'complete-tool-call'
  | 'stream-tool-call'
  | 'rate-limit'
  | 'server-error'
  | 'bad-request'
  | 'abort-complete'
  | 'abort-stream'
  | 'pre-aborted'
  | 'embed'
  | 'embed-error'
  | 'count-tokens';

export interface ProviderContractSetup {
  /** Builds a provider that behaves as `scenario` says, for every request. */
  makeProvider(scenario: ProviderScenario): Promise<ProviderUnderTest> | ProviderUnderTest;
  /** Upstream model name put in requests (default `contract-model`). */
  model?: string;
  /** The provider's `type`. */
  type: Provider['type'];
  expected?: {
    /** The `text` scenario's answer (default {@link CONTRACT_TEXT}). */
    text?: string;
    /** The `tool-call` scenario's call (default {@link CONTRACT_TOOL_CALL}). */
    toolCall?: { name: string; arguments: Record<string, unknown> };
    /** `retryAfterSeconds` the `rate-limit` error must carry; unchecked when absent. */
    retryAfterSeconds?: number;
    /** HTTP status of the `server-error` scenario (default 503). */
    serverErrorStatus?: number;
    /**
     * What `embed()` does in the `text` scenario: `vectors` (one per input) or
     * `unsupported` (a retryable 400 `unsupported_endpoint`, so the router
     * tries the next provider). Default `vectors`.
     */
    embeddings?: 'vectors' | 'unsupported';
    /** Inputs of the `embed` check (default one text); a fake upstream with a fixed answer needs as many as its fixture has. */
    embedInputs?: string[];
  };
  /** Checks that do not apply, each with the reason why. */
  skip?: Partial<Record<ContractCheck, string>>;
}

const WEATHER_TOOL = {
  name: CONTRACT_TOOL_CALL.name,
  description: 'Weather forecast for a city',
  parameters: {
    type: 'object',
    properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] }, days: { type: 'integer' } },
    required: ['city'],
  },
};

/** Collects every event of a stream, failing if it does not end. */
export async function collectEvents(events: AsyncIterable<StreamEvent>): Promise<StreamEvent[]> {
  const out: StreamEvent[] = [];
  for await (const event of events) out.push(event);
  return out;
}

/** The error a promise rejects with; fails the test if it resolves. */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

/**
 * The error a stream fails with before producing anything: its first `next()`
 * rejects, or its first event is an `error` event. A failure after other events
 * would stop the router from falling back, so it fails the check.
 */
export async function firstStreamFailure(events: AsyncIterable<StreamEvent>): Promise<unknown> {
  const iterator = events[Symbol.asyncIterator]();
  let first: IteratorResult<StreamEvent>;
  try {
    first = await iterator.next();
  } catch (error) {
    return error;
  }
  await iterator.return?.();
  if (first.done) throw new Error('the stream ended without an event or an error');
  if (first.value.type === 'error') return first.value.error;
  throw new Error(
    `the stream yielded "${first.value.type}" before failing; a failure known before any output must come before the first event, so the router can fall back`,
  );
}

function request(model: string, extra: Partial<ChatRequest> = {}): ChatRequest {
  return {
    model,
    system: 'You are a test fixture.',
    messages: [{ role: 'user', content: [{ type: 'text', text: 'Say the contract answer.' }] }],
    maxTokens: 1024,
    ...extra,
  };
}

function expectUsage(usage: { inputTokens: number; outputTokens: number }) {
  expect(Number.isInteger(usage.inputTokens) && usage.inputTokens > 0, `inputTokens ${usage.inputTokens}`).toBe(true);
  expect(Number.isInteger(usage.outputTokens) && usage.outputTokens > 0, `outputTokens ${usage.outputTokens}`).toBe(true);
}

/** Checks the shape of a stream: start, then body events, then exactly one finish, last. */
function expectStreamShape(events: StreamEvent[]) {
  const types = events.map((e) => e.type);
  expect(types[0], `event types: ${types.join(', ')}`).toBe('start');
  expect(types.filter((t) => t === 'finish'), `event types: ${types.join(', ')}`).toHaveLength(1);
  expect(types.at(-1)).toBe('finish');
  expect(types).not.toContain('error');
  const start = events[0] as Extract<StreamEvent, { type: 'start' }>;
  expect(typeof start.id).toBe('string');
  expect(start.id.length).toBeGreaterThan(0);
  expect(typeof start.model).toBe('string');
}

function streamText(events: StreamEvent[]): string {
  return events.map((e) => (e.type === 'text-delta' ? e.text : '')).join('');
}

/** Tool calls assembled from stream events, by index. */
function streamToolCalls(events: StreamEvent[]) {
  const calls = new Map<number, { id: string; name: string; arguments: string; ended: boolean }>();
  for (const event of events) {
    if (event.type === 'tool-call-start') calls.set(event.index, { id: event.id, name: event.name, arguments: '', ended: false });
    if (event.type === 'tool-call-delta') {
      const call = calls.get(event.index);
      expect(call, `tool-call-delta for index ${event.index} before its tool-call-start`).toBeDefined();
      call!.arguments += event.argumentsDelta;
    }
    if (event.type === 'tool-call-end') calls.get(event.index)!.ended = true;
  }
  return [...calls.values()];
}

function expectProviderError(error: unknown, provider: Provider, status: number, retryable: boolean) {
  expect(error, String(error)).toBeInstanceOf(TokenPakError);
  const e = error as TokenPakError;
  expect({ status: e.status, retryable: e.retryable }).toEqual({ status, retryable });
  // The router names the provider in attempts; an error that names another would mislead.
  if (e.provider !== undefined) expect(e.provider).toBe(provider.name);
  expect(e.message.length).toBeGreaterThan(0);
}

/** Registers the contract tests for one provider. */
export function runProviderContract(name: string, setup: ProviderContractSetup): void {
  const model = setup.model ?? 'contract-model';
  const text = setup.expected?.text ?? CONTRACT_TEXT;
  const toolCall = setup.expected?.toolCall ?? CONTRACT_TOOL_CALL;
  const serverErrorStatus = setup.expected?.serverErrorStatus ?? 503;

  const check = (id: ContractCheck, title: string, body: () => Promise<void>, timeout?: number) => {
    const reason = setup.skip?.[id];
    if (reason) it.skip(`${title} (skipped: ${reason})`, body);
    else it(title, body, timeout);
  };

  const withProvider = async (scenario: ProviderScenario, body: (provider: Provider) => Promise<void>) => {
    const { provider, cleanup } = await setup.makeProvider(scenario);
    try {
      await body(provider);
    } finally {
      await cleanup?.();
    }
  };

  describe(`provider contract: ${name}`, () => {
    check('identity', 'has its configured name and type', () =>
      withProvider('text', async (provider) => {
        expect(typeof provider.name).toBe('string');
        expect(provider.name.length).toBeGreaterThan(0);
        expect(provider.type).toBe(setup.type);
      }),
    );

    check('complete-text', 'complete() returns the canonical response with the known text', () =>
      withProvider('text', async (provider) => {
        const response: ChatResponse = await provider.complete(request(model), { requestId: 'contract-1' });
        expect(typeof response.id).toBe('string');
        expect(response.id.length).toBeGreaterThan(0);
        expect(typeof response.model).toBe('string');
        expect(response.model.length).toBeGreaterThan(0);
        expect(response.content.every((p) => p.type === 'text')).toBe(true);
        expect(textOf(response.content)).toBe(text);
        expect(response.stopReason).toBe('stop');
        expectUsage(response.usage);
      }),
    );

    check('stream-text', 'stream() yields start, text deltas and one finish; the text equals complete()', () =>
      withProvider('text', async (provider) => {
        const complete = await provider.complete(request(model));
        const events = await collectEvents(provider.stream(request(model), { requestId: 'contract-2' }));
        expectStreamShape(events);
        expect(events.filter((e) => e.type === 'text-delta').length).toBeGreaterThan(0);
        expect(streamText(events)).toBe(textOf(complete.content));
        const finish = events.at(-1) as Extract<StreamEvent, { type: 'finish' }>;
        expect(finish.stopReason).toBe('stop');
        expectUsage(finish.usage);
      }),
    );

    check('stream-early-return', 'a stream the consumer stops early ends quietly', () =>
      withProvider('text', async (provider) => {
        const seen: string[] = [];
        for await (const event of provider.stream(request(model))) {
          seen.push(event.type);
          break;
        }
        expect(seen).toEqual(['start']);
        // The provider still answers afterwards.
        expect(textOf((await provider.complete(request(model))).content)).toBe(text);
      }),
    );

    check('complete-tool-call', 'complete() returns the known tool call with parseable JSON arguments', () =>
      withProvider('tool-call', async (provider) => {
        const response = await provider.complete(request(model, { tools: [WEATHER_TOOL], toolChoice: { type: 'required' } }));
        const calls = response.content.filter((p) => p.type === 'tool-call');
        expect(calls).toHaveLength(1);
        const call = calls[0]!;
        expect(call.name).toBe(toolCall.name);
        expect(typeof call.id).toBe('string');
        expect(call.id.length).toBeGreaterThan(0);
        expect(JSON.parse(call.arguments)).toEqual(toolCall.arguments);
        expect(response.stopReason).toBe('tool-calls');
        expectUsage(response.usage);
      }),
    );

    check('stream-tool-call', 'stream() delivers the same tool call as start/delta/end events', () =>
      withProvider('tool-call', async (provider) => {
        const events = await collectEvents(provider.stream(request(model, { tools: [WEATHER_TOOL], toolChoice: { type: 'required' } })));
        expectStreamShape(events);
        const calls = streamToolCalls(events);
        expect(calls).toHaveLength(1);
        expect(calls[0]!.name).toBe(toolCall.name);
        expect(calls[0]!.id.length).toBeGreaterThan(0);
        expect(calls[0]!.ended).toBe(true);
        expect(JSON.parse(calls[0]!.arguments)).toEqual(toolCall.arguments);
        expect((events.at(-1) as Extract<StreamEvent, { type: 'finish' }>).stopReason).toBe('tool-calls');
      }),
    );

    check('rate-limit', 'a 429 rejects with a retryable rate_limited error, in both modes', () =>
      withProvider('rate-limit', async (provider) => {
        for (const error of [
          await rejectionOf(provider.complete(request(model))),
          await firstStreamFailure(provider.stream(request(model))),
        ]) {
          expectProviderError(error, provider, 429, true);
          expect((error as TokenPakError).code).toBe('rate_limited');
          if (setup.expected?.retryAfterSeconds !== undefined) {
            expect((error as TokenPakError).retryAfterSeconds).toBe(setup.expected.retryAfterSeconds);
          }
        }
      }),
    );

    check('server-error', `a ${serverErrorStatus} rejects with a retryable error, in both modes`, () =>
      withProvider('server-error', async (provider) => {
        expectProviderError(await rejectionOf(provider.complete(request(model))), provider, serverErrorStatus, true);
        expectProviderError(await firstStreamFailure(provider.stream(request(model))), provider, serverErrorStatus, true);
      }),
    );

    check('bad-request', 'a 400 rejects with an error that is not retryable, in both modes', () =>
      withProvider('bad-request', async (provider) => {
        expectProviderError(await rejectionOf(provider.complete(request(model))), provider, 400, false);
        expectProviderError(await firstStreamFailure(provider.stream(request(model))), provider, 400, false);
      }),
    );

    // The slow scenario answers only after many seconds; these finish within the
    // test timeout only if the abort really stops the call.
    const expectAbortError = (error: unknown) => {
      expect(error).toBeInstanceOf(Error);
      // A retryable error on abort would send the router to the next provider for a client that left.
      if (TokenPakError.is(error)) expect(error.retryable).toBe(false);
    };

    check('abort-complete', 'aborting the signal stops complete()', () =>
      withProvider('slow', async (provider) => {
        const controller = new AbortController();
        const call = provider.complete(request(model), { signal: controller.signal });
        setTimeout(() => controller.abort(), 20);
        expectAbortError(await rejectionOf(call));
      }),
    5_000);

    check('abort-stream', 'aborting the signal stops stream()', () =>
      withProvider('slow', async (provider) => {
        const controller = new AbortController();
        const events = collectEvents(provider.stream(request(model), { signal: controller.signal }));
        setTimeout(() => controller.abort(), 20);
        expectAbortError(await rejectionOf(events));
      }),
    5_000);

    check('pre-aborted', 'an already aborted signal rejects without answering', () =>
      withProvider('text', async (provider) => {
        const signal = AbortSignal.abort();
        expectAbortError(await rejectionOf(provider.complete(request(model), { signal })));
        expectAbortError(await rejectionOf(collectEvents(provider.stream(request(model), { signal }))));
      }),
    5_000);

    const embeddings = setup.expected?.embeddings ?? 'vectors';
    if (embeddings === 'vectors') {
      check('embed', 'embed() answers one vector of numbers per input, with input tokens', () =>
        withProvider('text', async (provider) => {
          expect(provider.embed, 'a provider with embeddings implements embed()').toBeTypeOf('function');
          const inputs = setup.expected?.embedInputs ?? ['The contract text to embed.'];
          const response = await provider.embed!({ model, input: inputs }, { requestId: 'contract-embed' });
          expect(response.embeddings).toHaveLength(inputs.length);
          const vector = response.embeddings[0]!;
          expect(vector.length).toBeGreaterThan(0);
          expect(vector.every((v) => typeof v === 'number' && Number.isFinite(v))).toBe(true);
          expect(Number.isInteger(response.usage.inputTokens) && response.usage.inputTokens > 0, `inputTokens ${response.usage.inputTokens}`).toBe(true);
        }),
      );
      check('embed-error', 'embed() rejects with a retryable error when the upstream fails', () =>
        withProvider('server-error', async (provider) => {
          expectProviderError(await rejectionOf(provider.embed!({ model, input: ['x'] })), provider, serverErrorStatus, true);
        }),
      );
    } else {
      check('embed', 'embed() rejects with a retryable unsupported_endpoint error that says why', () =>
        withProvider('text', async (provider) => {
          const error = await rejectionOf(provider.embed ? provider.embed({ model, input: ['x'] }) : Promise.reject(new Error('no embed()')));
          expectProviderError(error, provider, 400, true);
          expect((error as TokenPakError).code).toBe('unsupported_endpoint');
          expect((error as TokenPakError).message).toMatch(/embeddings/);
        }),
      );
    }

    check('count-tokens', 'countTokens() answers a positive whole number of input tokens', () =>
      withProvider('text', async (provider) => {
        expect(provider.countTokens, 'every built-in provider counts tokens').toBeTypeOf('function');
        const count = await provider.countTokens!(request(model), { requestId: 'contract-count' });
        expect(Number.isInteger(count) && count > 0, `count ${count}`).toBe(true);
      }),
    );
  });
}
