/**
 * TokenPak's own format (`POST /v1/messages` without `anthropic-version`), the
 * one the recipe uses: `content` is the answer's text as one string.
 */
import { z } from 'zod';
import type { ChatRequest, ContentPart, Message, StopReason, ToolCallPart } from '../canonical/types.ts';
import { textOf } from '../canonical/types.ts';
import type { RoutedResponse } from '../canonical/outcome.ts';
import { RequestError, RoutingError, type TokenPakError } from '../errors.ts';
import type { AttemptRecord } from '../logs/types.ts';
import { didYouMean } from '../util/did-you-mean.ts';
import { encodeSSE } from './sse.ts';
import type { WireFormat } from './types.ts';
import { bracketPath, firstProblem, metadataOf, retryHeaders } from './wire-utils.ts';

const ROLES = ['user', 'assistant', 'system'] as const;

const contentSchema = z.union(
  [z.string(), z.array(z.strictObject({ type: z.literal('text'), text: z.string() })).min(1)],
  { error: 'must be a string, or a list of {"type": "text", "text": "..."} parts' },
);

/** A zod error message that tells a missing field from one of the wrong type. */
function missingOr(missing: string, wrongType: string) {
  return (issue: { input?: unknown }) => (issue.input === undefined ? missing : wrongType);
}

const requestSchema = z.strictObject({
  model: z.string({ error: missingOr('is required: the model name to route, for example "gpt-4"', 'must be a string: the model name to route, for example "gpt-4"') }).min(1, { error: 'must not be empty' }),
  messages: z
    .array(
      z.strictObject({
        role: z.string({ error: missingOr('is required: "user", "assistant" or "system"', 'must be a string: "user", "assistant" or "system"') }),
        content: contentSchema,
      }),
      { error: missingOr('is required: a list of {"role": "user", "content": "..."} messages', 'must be a list of {"role": "user", "content": "..."} messages') },
    )
    .min(1, { error: 'must contain at least one message' }),
  system: z.string().optional(),
  max_tokens: z.int().min(1).optional(),
  temperature: z.number().min(0).max(2).optional(),
  top_p: z.number().min(0).max(1).optional(),
  stop: z.union([z.string(), z.array(z.string())]).optional(),
  stream: z.boolean().optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
});

type TokenPakRequest = z.output<typeof requestSchema>;

/**
 * A RequestError from the first zod issue, located as the OpenAI formats locate theirs
 * (`messages[0].role`), with did-you-mean for unknown top-level keys. The schema's own
 * messages say what is wrong, so they are kept as written.
 */
function requestErrorFromZod(error: z.ZodError, body: unknown, knownKeys: readonly string[], example: string): RequestError {
  const problem = firstProblem(error, body, bracketPath);
  if (problem.kind === 'unknown-key') {
    const topLevel = problem.param === problem.key;
    return new RequestError(`Unknown field "${problem.param}".${topLevel ? didYouMean(problem.key!, knownKeys) : ''} ${example}`);
  }
  return new RequestError(`${problem.param || 'Request body'}: ${error.issues[0]!.message.replace(/^Invalid input: /, '')}.`);
}

const EXAMPLE = 'Send {"model": "gpt-4", "messages": [{"role": "user", "content": "Hello"}]}.';

function toCanonical(body: TokenPakRequest): ChatRequest {
  const systems: string[] = body.system !== undefined ? [body.system] : [];
  const messages: Message[] = [];
  body.messages.forEach((message, i) => {
    if (!(ROLES as readonly string[]).includes(message.role)) {
      throw new RequestError(`messages[${i}].role: unknown role "${message.role}".${didYouMean(message.role, ROLES)} Use "user", "assistant" or "system".`);
    }
    const text = typeof message.content === 'string' ? message.content : message.content.map((p) => p.text).join('');
    if (message.role === 'system') systems.push(text);
    else messages.push({ role: message.role as 'user' | 'assistant', content: [{ type: 'text', text }] });
  });
  if (messages.length === 0) throw new RequestError(`messages: needs at least one user or assistant message, not only system messages. ${EXAMPLE}`);
  const request: ChatRequest = { model: body.model, messages };
  if (systems.length > 0) request.system = systems.join('\n\n');
  if (body.max_tokens !== undefined) request.maxTokens = body.max_tokens;
  if (body.temperature !== undefined) request.temperature = body.temperature;
  if (body.top_p !== undefined) request.topP = body.top_p;
  if (body.stop !== undefined) request.stop = typeof body.stop === 'string' ? [body.stop] : body.stop;
  const metadata = metadataOf((body as { metadata?: unknown }).metadata);
  if (metadata) request.metadata = metadata;
  return request;
}

const STOP_REASONS: Record<StopReason, string> = {
  stop: 'stop',
  length: 'length',
  'tool-calls': 'tool_calls',
  'content-filter': 'content_filter',
};

/** Attempts as TokenPak-format JSON. */
export function renderAttempts(attempts: readonly AttemptRecord[]) {
  return attempts.map((a) => ({
    provider: a.provider,
    model: a.model,
    outcome: a.outcome,
    status: a.status,
    ...(a.errorCode !== undefined ? { error: { type: a.errorCode, message: a.errorMessage } } : {}),
    latency_ms: a.latencyMs,
    cost_cents: a.costCents,
  }));
}

function renderToolCalls(content: readonly ContentPart[]) {
  return content
    .filter((p): p is ToolCallPart => p.type === 'tool-call')
    .map((p) => ({ id: p.id, name: p.name, arguments: p.arguments }));
}

export const tokenpakFormat: WireFormat = {
  name: 'tokenpak',

  parseRequest(body) {
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw new RequestError(`The request body must be a JSON object. ${EXAMPLE}`);
    }
    const parsed = requestSchema.safeParse(body);
    if (!parsed.success) throw requestErrorFromZod(parsed.error, body, Object.keys(requestSchema.shape), EXAMPLE);
    return { request: toCanonical(parsed.data), stream: parsed.data.stream === true };
  },

  renderResponse(result: RoutedResponse, { requestId }) {
    const toolCalls = renderToolCalls(result.response.content);
    return {
      id: requestId,
      object: 'tokenpak.message',
      model: result.route.name,
      provider: result.provider,
      upstream_model: result.upstreamModel,
      content: textOf(result.response.content),
      ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
      stop_reason: STOP_REASONS[result.response.stopReason],
      usage: { input_tokens: result.response.usage.inputTokens, output_tokens: result.response.usage.outputTokens },
      cost_cents: result.costCents,
      latency_ms: result.latencyMs,
      attempts: renderAttempts(result.attempts),
    };
  },

  async *renderStream(stream, { requestId }) {
    yield encodeSSE({
      event: 'start',
      data: { id: requestId, model: stream.route.name, provider: stream.provider, upstream_model: stream.upstreamModel, attempts: renderAttempts(stream.attempts) },
    });
    const toolCalls = new Map<number, { id: string; name: string; arguments: string }>();
    let stopReason: StopReason = 'stop';
    for await (const event of stream.events) {
      switch (event.type) {
        case 'text-delta':
          yield encodeSSE({ event: 'delta', data: { text: event.text } });
          break;
        case 'tool-call-start':
          toolCalls.set(event.index, { id: event.id, name: event.name, arguments: '' });
          break;
        case 'tool-call-delta': {
          const call = toolCalls.get(event.index);
          if (call) call.arguments += event.argumentsDelta;
          break;
        }
        case 'tool-call-end': {
          const call = toolCalls.get(event.index);
          if (call) yield encodeSSE({ event: 'tool_call', data: { index: event.index, ...call } });
          break;
        }
        case 'finish':
          stopReason = event.stopReason;
          break;
        case 'error':
          yield encodeSSE({ event: 'error', data: errorBody(event.error as TokenPakError, requestId) });
          break;
        default:
          break;
      }
    }
    const call = await stream.done;
    if (call.outcome !== 'ok') return;
    const last = call.attempts.at(-1);
    yield encodeSSE({
      event: 'done',
      data: {
        id: requestId,
        model: stream.route.name,
        provider: call.provider,
        upstream_model: call.upstreamModel,
        stop_reason: STOP_REASONS[stopReason],
        usage: { input_tokens: call.inputTokens, output_tokens: call.outputTokens },
        cost_cents: call.costCents,
        latency_ms: call.latencyMs,
        ttft_ms: last?.ttftMs,
        attempts: renderAttempts(call.attempts),
      },
    });
  },

  renderError(error, { requestId }) {
    return {
      status: error.status,
      body: errorBody(error, requestId),
      headers: retryHeaders(error),
    };
  },
};

function errorBody(error: TokenPakError, requestId: string) {
  return {
    error: {
      type: error.code,
      message: error.detail,
      ...(error.provider !== undefined ? { provider: error.provider } : {}),
      request_id: requestId,
      ...(error instanceof RoutingError ? { attempts: renderAttempts(error.attempts) } : {}),
    },
  };
}
