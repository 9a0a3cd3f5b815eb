/**
 * The Anthropic Messages API (`POST /v1/messages` with an `anthropic-version`
 * header): content blocks, `tool_use` and `tool_result`, `system` as a string
 * or text blocks, `stop_reason`, `usage`; streams of `message_start`,
 * `content_block_start`, `ping`, `content_block_delta` (`text_delta`,
 * `input_json_delta`), `content_block_stop`, `message_delta` and
 * `message_stop`; errors as `{type: "error", error: {type, message}}`.
 *
 * Both directions live here: the client side (requests TokenPak serves, answers it renders)
 * and the upstream side (requests the Anthropic provider sends, answers and stream events it
 * reads back; the wire types there are the official `@anthropic-ai/sdk` package's own,
 * imported as types only).
 * https://docs.anthropic.com/en/api/messages
 */
import { z } from 'zod';
import type {
  ContentBlockParam,
  Message as AnthropicMessage,
  MessageCreateParamsBase,
  MessageParam,
  RawMessageStreamEvent,
  ToolChoice as AnthropicToolChoice,
  Usage as AnthropicUsage,
} from '@anthropic-ai/sdk/resources/messages';
import type {
  ChatRequest,
  ChatResponse,
  ContentPart,
  Message,
  StopReason,
  StreamEvent,
  TextPart,
  ToolCallPart,
  ToolChoice,
  ToolDefinition,
  Usage,
} from '../canonical/types.ts';
import { ConversationError, type TokenPakError } from '../errors.ts';
import { didYouMean } from '../util/did-you-mean.ts';
import { encodeSSE } from './sse.ts';
import type { ModelListing, WireFormat } from './types.ts';
import { compactId, dottedPath, fieldError, firstProblem, isObject, jsonType, metadataOf, parseArguments, retryHeaders } from './wire-utils.ts';

/** Parameters the API accepts that TokenPak takes but does not act on. */
const ACCEPTED_IGNORED = [
  'cache_control', 'container', 'context_management', 'diagnostics', 'inference_geo', 'mcp_servers', 'metadata',
  'service_tier', 'speed', 'thinking', 'top_k', 'user_profile_id', 'workspace_id',
] as const;

const jsonFormatSchema = z
  .looseObject({ type: z.literal('json_schema', { error: 'must be {"type": "json_schema", "schema": {...}}' }), schema: z.record(z.string(), z.unknown()) })
  .nullish();

const requestSchema = z.strictObject({
  model: z.string().min(1, { error: 'String should have at least 1 character' }),
  max_tokens: z.int({ error: 'Input should be a valid integer' }).min(1, { error: 'Input should be greater than or equal to 1' }),
  messages: z.array(z.unknown(), { error: 'Input should be a valid list' }),
  system: z.union([z.string(), z.array(z.looseObject({ type: z.literal('text'), text: z.string() }))], {
    error: 'Input should be a string or a list of text blocks',
  }).optional(),
  stop_sequences: z.array(z.string(), { error: 'Input should be a valid list of strings' }).optional(),
  stream: z.boolean({ error: 'Input should be a valid boolean' }).optional(),
  temperature: z.number().min(0, { error: 'Input should be greater than or equal to 0' }).max(1, { error: 'Input should be less than or equal to 1' }).optional(),
  top_p: z.number().min(0).max(1).optional(),
  tools: z.array(z.unknown(), { error: 'Input should be a valid list' }).optional(),
  tool_choice: z
    .union([
      z.looseObject({ type: z.enum(['auto', 'any', 'none']) }),
      z.looseObject({ type: z.literal('tool'), name: z.string() }),
    ], { error: 'must be {"type": "auto"}, {"type": "any"}, {"type": "none"} or {"type": "tool", "name": "..."}' })
    .optional(),
  output_config: z.looseObject({ format: jsonFormatSchema }).optional(),
  output_format: jsonFormatSchema,
  thread: z
    .union([
      z.strictObject({ type: z.literal('create') }),
      z.strictObject({ type: z.literal('continue'), previous_message_id: z.string().min(1) }),
    ], { error: 'must be {"type": "create"} or {"type": "continue", "previous_message_id": "msg_..."}' })
    .nullish(),
  ...Object.fromEntries(ACCEPTED_IGNORED.map((key) => [key, z.unknown().optional()])),
});

/** `count_tokens` takes the Messages request without what only generation needs (`max_tokens` is accepted and ignored). */
const countSchema = requestSchema.omit({ thread: true, stream: true }).extend({ max_tokens: requestSchema.shape.max_tokens.optional() });

/** The beta that message threads (`thread`) need, as the SDK sends it in `anthropic-beta`. */
export const MESSAGE_THREADS_BETA = 'message-threads-2026-08-12';

type AnthropicRequest = z.output<typeof requestSchema>;
const KNOWN_KEYS = Object.keys(requestSchema.shape);

function textOfBlocks(content: unknown, param: string): string {
  if (typeof content === 'string') return content;
  if (content === undefined) return '';
  if (!Array.isArray(content)) throw fieldError(param, `${param}: Input should be a valid string or list of content blocks, not ${jsonType(content)}`);
  let text = '';
  content.forEach((block, i) => {
    if (isObject(block) && block.type === 'text' && typeof block.text === 'string') text += block.text;
    else if (!(isObject(block) && block.type === 'image')) {
      throw fieldError(`${param}.${i}`, `${param}.${i}: tool results can hold text and image blocks only.`);
    }
  });
  return text;
}

function imagePart(block: Record<string, unknown>, param: string): ContentPart {
  const source = block.source;
  if (isObject(source) && source.type === 'base64' && typeof source.data === 'string' && typeof source.media_type === 'string') {
    return { type: 'image', url: `data:${source.media_type};base64,${source.data}`, mediaType: source.media_type };
  }
  if (isObject(source) && source.type === 'url' && typeof source.url === 'string') return { type: 'image', url: source.url };
  throw fieldError(`${param}.source`, `${param}.source: expected {"type": "base64", "media_type": "...", "data": "..."} or {"type": "url", "url": "..."}`);
}

/**
 * `continues`: the request continues a thread, so its first message may
 * answer tool calls of the stored reply; the server checks those against the
 * stored history.
 */
function toMessages(raw: readonly unknown[], continues = false): Message[] {
  const messages: Message[] = [];
  // tool_use ids of the previous assistant message, which the next user message must answer.
  let open: { ids: Set<string>; at: number } | undefined;
  raw.forEach((message, i) => {
    const at = `messages.${i}`;
    if (!isObject(message)) throw fieldError(at, `${at}: Input should be a valid dictionary`);
    const role = message.role;
    if (role !== 'user' && role !== 'assistant') {
      const hint = typeof role === 'string' ? didYouMean(role, ['user', 'assistant']) : '';
      const system = role === 'system' ? ' Put system prompts in the top-level "system" field.' : '';
      throw fieldError(`${at}.role`, `${at}.role: Input should be 'user' or 'assistant'.${hint}${system}`);
    }
    const content = message.content;
    if (content === undefined) throw fieldError(`${at}.content`, `${at}.content: Field required`);
    const blocks = typeof content === 'string' ? [{ type: 'text', text: content }] : content;
    if (!Array.isArray(blocks)) throw fieldError(`${at}.content`, `${at}.content: Input should be a valid string or list of content blocks`);

    const parts: ContentPart[] = [];
    const results: ContentPart[] = [];
    const uses = new Set<string>();
    blocks.forEach((block, j) => {
      const bat = `${at}.content.${j}`;
      if (!isObject(block)) throw fieldError(bat, `${bat}: Input should be a valid dictionary`);
      switch (block.type) {
        case 'text':
          if (typeof block.text !== 'string') throw fieldError(`${bat}.text`, `${bat}.text: Field required`);
          parts.push({ type: 'text', text: block.text });
          break;
        case 'image':
          parts.push(imagePart(block, bat));
          break;
        case 'tool_use':
          if (role !== 'assistant') throw fieldError(bat, `${bat}: tool_use blocks can only appear in assistant messages.`);
          if (typeof block.id !== 'string' || typeof block.name !== 'string') throw fieldError(bat, `${bat}: tool_use blocks need string id and name.`);
          parts.push({ type: 'tool-call', id: block.id, name: block.name, arguments: JSON.stringify(block.input ?? {}) });
          uses.add(block.id);
          break;
        case 'tool_result': {
          if (role !== 'user') throw fieldError(bat, `${bat}: tool_result blocks can only appear in user messages.`);
          const id = block.tool_use_id;
          if (typeof id !== 'string') throw fieldError(`${bat}.tool_use_id`, `${bat}.tool_use_id: Field required`);
          if (!open?.ids.delete(id) && !(continues && i === 0)) {
            throw fieldError(bat, `${bat}: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${id}. Each \`tool_result\` block must have a corresponding \`tool_use\` block in the previous message.`);
          }
          results.push({ type: 'tool-result', toolCallId: id, content: textOfBlocks(block.content, `${bat}.content`), ...(block.is_error === true ? { isError: true } : {}) });
          break;
        }
        case 'thinking':
        case 'redacted_thinking':
          // Thinking from an earlier turn carries nothing a mock or another provider can use.
          break;
        default:
          throw fieldError(`${bat}.type`, `${bat}.type: TokenPak supports content blocks of type text, image, tool_use and tool_result, not "${String(block.type)}".`);
      }
    });
    if (open && open.ids.size > 0) {
      throw fieldError(`messages.${open.at}`, `messages.${open.at}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${[...open.ids].join(', ')}. Each \`tool_use\` block must have a corresponding \`tool_result\` block in the next message.`);
    }
    open = uses.size > 0 ? { ids: uses, at: i } : undefined;
    if (results.length > 0) messages.push({ role: 'tool', content: results });
    if (parts.length > 0 || results.length === 0) messages.push({ role, content: parts });
  });
  return messages;
}

function toTools(raw: readonly unknown[]): ToolDefinition[] {
  return raw.map((tool, i) => {
    const at = `tools.${i}`;
    if (!isObject(tool)) throw fieldError(at, `${at}: Input should be a valid dictionary`);
    if (tool.type !== undefined && tool.type !== 'custom') {
      throw fieldError(`${at}.type`, `${at}.type: TokenPak supports client tools (type "custom" or none) only, not the server tool "${String(tool.type)}".`);
    }
    if (typeof tool.name !== 'string' || !/^[a-zA-Z0-9_-]{1,128}$/.test(tool.name)) {
      throw fieldError(`${at}.name`, `${at}.name: String should match pattern '^[a-zA-Z0-9_-]{1,128}$'`);
    }
    if (!isObject(tool.input_schema)) throw fieldError(`${at}.input_schema`, `${at}.input_schema: Field required`);
    return { name: tool.name, ...(typeof tool.description === 'string' ? { description: tool.description } : {}), parameters: tool.input_schema };
  });
}

function toCanonical(body: AnthropicRequest): ChatRequest {
  const continues = body.thread?.type === 'continue';
  // A thread's continue may send no message: the server resumes an unfinished (pause_turn) reply.
  if (body.messages.length === 0 && !continues) throw fieldError('messages', 'messages: at least one message is required');
  const request: ChatRequest = { model: body.model, messages: toMessages(body.messages, continues), maxTokens: body.max_tokens };
  if (body.system !== undefined) {
    const system = typeof body.system === 'string' ? body.system : body.system.map((b) => b.text).join('\n\n');
    if (system) request.system = system;
  }
  if (body.temperature !== undefined) request.temperature = body.temperature;
  if (body.top_p !== undefined) request.topP = body.top_p;
  if (body.stop_sequences?.length) request.stop = body.stop_sequences;
  if (body.tools?.length) request.tools = toTools(body.tools);
  if (body.tool_choice) request.toolChoice = toolChoice(body.tool_choice, request.tools ?? []);
  const format = body.output_config?.format ?? body.output_format;
  if (format) request.responseFormat = { type: 'json_schema', schema: format.schema };
  const metadata = metadataOf((body as { metadata?: unknown }).metadata);
  if (metadata) request.metadata = metadata;
  return request;
}

function toolChoice(choice: NonNullable<AnthropicRequest['tool_choice']>, tools: readonly ToolDefinition[]): ToolChoice {
  switch (choice.type) {
    case 'auto':
    case 'none':
      return { type: choice.type };
    case 'any':
      return { type: 'required' };
    case 'tool': {
      const name = (choice as { name: string }).name;
      if (!tools.some((t) => t.name === name)) {
        throw fieldError('tool_choice.name', `tool_choice.name: tool "${name}" is not in tools.${didYouMean(name, tools.map((t) => t.name))}`);
      }
      return { type: 'tool', name };
    }
  }
}

/**
 * Anthropic's stop reasons and the canonical ones they stand for, read in both directions:
 * the first entry of a canonical reason is the one TokenPak sends (`stop_sequence` when a stop
 * sequence ended the answer).
 */
const STOP_REASONS: ReadonlyArray<readonly [string, StopReason]> = [
  ['end_turn', 'stop'],
  ['stop_sequence', 'stop'],
  ['pause_turn', 'stop'],
  ['max_tokens', 'length'],
  ['model_context_window_exceeded', 'length'],
  ['tool_use', 'tool-calls'],
  ['refusal', 'content-filter'],
];

/** Anthropic's `stop_reason` for a canonical one. */
function wireStopReason(reason: StopReason, stopSequence: string | undefined): string {
  if (reason === 'stop' && stopSequence !== undefined) return 'stop_sequence';
  return STOP_REASONS.find(([, canonical]) => canonical === reason)![0];
}

/** Canonical stop reason of Anthropic's `stop_reason` (unknown ones count as `stop`). */
export function stopReasonOf(reason: string | null | undefined): StopReason {
  return STOP_REASONS.find(([wire]) => wire === reason)?.[1] ?? 'stop';
}

/** Anthropic's `usage` for canonical usage. */
function wireUsage(usage: Usage) {
  return {
    input_tokens: usage.inputTokens,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: usage.cachedInputTokens ?? 0,
    output_tokens: usage.outputTokens,
    service_tier: 'standard',
  };
}

/**
 * Anthropic's error types and their HTTP statuses, read in both directions: TokenPak's errors
 * get the type of their status, and an `error` event inside an upstream stream the status of
 * its type.
 */
const ERROR_TYPES: Readonly<Record<string, number>> = {
  invalid_request_error: 400,
  authentication_error: 401,
  billing_error: 402,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  timeout_error: 504,
  overloaded_error: 529,
};

/** Anthropic's error type for an HTTP status. */
function errorType(status: number): string {
  for (const [type, known] of Object.entries(ERROR_TYPES)) if (known === status) return type;
  return status >= 500 ? 'api_error' : 'invalid_request_error';
}

/** The HTTP status an Anthropic error type stands for (500 for types it does not know). */
export function statusOfErrorType(type: string | undefined): number {
  return (type !== undefined && Object.hasOwn(ERROR_TYPES, type) ? ERROR_TYPES[type] : undefined) ?? 500;
}

function modelObject({ route, createdAt }: ModelListing) {
  return { type: 'model', id: route.name, display_name: route.name, created_at: new Date(createdAt).toISOString() };
}

function errorBody(error: TokenPakError, requestId: string) {
  // The SDK reads `error.details.error_code` (thread_not_found, thread_unsupported_request, …) to recover on its own.
  const details = error instanceof ConversationError ? { details: { error_code: error.wireCode, ...error.details } } : {};
  return { type: 'error', error: { type: errorType(error.status), message: error.detail, ...details }, request_id: requestId };
}

/** Validates a body against a schema of this API, with its error wording. */
function validate<S extends typeof requestSchema | typeof countSchema>(schema: S, body: unknown): z.output<S> {
  if (!isObject(body)) throw fieldError('', `The request body must be a JSON object, not ${jsonType(body)}. Send {"model": "...", "max_tokens": 1024, "messages": [{"role": "user", "content": "Hello"}]}.`);
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const problem = firstProblem(parsed.error, body, dottedPath);
    if (problem.kind === 'unknown-key') throw fieldError(problem.param, `${problem.param}: Extra inputs are not permitted.${didYouMean(problem.key!, KNOWN_KEYS)}`);
    if (problem.kind === 'missing') throw fieldError(problem.param, `${problem.param}: Field required`);
    throw fieldError(problem.param, `${problem.param}: ${problem.message}`);
  }
  return parsed.data as z.output<S>;
}

export const anthropicMessagesFormat: WireFormat = {
  name: 'anthropic-messages',

  parseRequest(body, headers) {
    const parsed = { data: validate(requestSchema, body) };
    const thread = parsed.data.thread;
    if (thread) {
      const betas = (headers.get('anthropic-beta') ?? '').split(',').map((beta) => beta.trim());
      if (!betas.includes(MESSAGE_THREADS_BETA)) {
        throw fieldError('thread', `thread: message threads are a beta: send the header "anthropic-beta: ${MESSAGE_THREADS_BETA}" with it (client.beta.messages.thread() and toolRunner() do).`);
      }
    }
    return {
      request: toCanonical(parsed.data),
      stream: parsed.data.stream === true,
      ...(thread ? { conversation: { kind: 'thread', store: true, ...(thread.type === 'continue' ? { previousId: thread.previous_message_id } : {}) } } : {}),
    };
  },

  parseCountRequest(body) {
    const data = validate(countSchema, body);
    const request = toCanonical({ ...data, max_tokens: data.max_tokens ?? 1 });
    delete request.maxTokens;
    return { request, stream: false };
  },

  renderCount: (inputTokens) => ({ input_tokens: inputTokens }),

  responseId: ({ requestId }) => `msg_${compactId(requestId)}`,

  renderResponse(result, { requestId }) {
    const { response } = result;
    return {
      id: `msg_${compactId(requestId)}`,
      type: 'message',
      role: 'assistant',
      model: result.route.name,
      content: response.content.map((part) =>
        part.type === 'text'
          ? { type: 'text', text: part.text }
          : { type: 'tool_use', id: part.id, name: part.name, input: parseArguments(part.arguments) },
      ),
      stop_reason: wireStopReason(response.stopReason, response.stopSequence),
      stop_sequence: response.stopSequence ?? null,
      stop_details: null,
      container: null,
      usage: wireUsage(response.usage),
    };
  },

  async *renderStream(stream, { requestId }) {
    const emit = (type: string, data: Record<string, unknown> = {}) => encodeSSE({ event: type, data: { type, ...data } });
    let block: { index: number; kind: 'text' | 'tool'; toolIndex?: number } | undefined;
    let blocks = 0;
    let pinged = false;
    const ping = function* () {
      if (pinged) return;
      pinged = true;
      yield emit('ping');
    };
    const closeBlock = function* () {
      if (!block) return;
      yield emit('content_block_stop', { index: block.index });
      block = undefined;
    };

    for await (const event of stream.events) {
      switch (event.type) {
        case 'start':
          yield emit('message_start', {
            message: {
              id: `msg_${compactId(requestId)}`,
              type: 'message',
              role: 'assistant',
              model: stream.route.name,
              content: [],
              stop_reason: null,
              stop_sequence: null,
              stop_details: null,
              container: null,
              // Output tokens are counted in message_delta; the API starts them at 1.
              usage: wireUsage({ inputTokens: event.inputTokens ?? 0, outputTokens: 1 }),
            },
          });
          break;
        case 'text-delta':
          if (block?.kind !== 'text') {
            yield* closeBlock();
            block = { index: blocks++, kind: 'text' };
            yield emit('content_block_start', { index: block.index, content_block: { type: 'text', text: '' } });
            yield* ping();
          }
          yield emit('content_block_delta', { index: block.index, delta: { type: 'text_delta', text: event.text } });
          break;
        case 'tool-call-start':
          yield* closeBlock();
          block = { index: blocks++, kind: 'tool', toolIndex: event.index };
          yield emit('content_block_start', { index: block.index, content_block: { type: 'tool_use', id: event.id, name: event.name, input: {} } });
          yield* ping();
          break;
        case 'tool-call-delta':
          if (block?.kind === 'tool' && block.toolIndex === event.index) {
            yield emit('content_block_delta', { index: block.index, delta: { type: 'input_json_delta', partial_json: event.argumentsDelta } });
          }
          break;
        case 'tool-call-end':
          if (block?.kind === 'tool' && block.toolIndex === event.index) yield* closeBlock();
          break;
        case 'finish':
          yield* closeBlock();
          yield* ping();
          yield emit('message_delta', {
            delta: { stop_reason: wireStopReason(event.stopReason, event.stopSequence), stop_sequence: event.stopSequence ?? null, stop_details: null },
            usage: { input_tokens: event.usage.inputTokens, cache_creation_input_tokens: 0, cache_read_input_tokens: event.usage.cachedInputTokens ?? 0, output_tokens: event.usage.outputTokens },
          });
          yield emit('message_stop');
          break;
        case 'error':
          yield encodeSSE({ event: 'error', data: errorBody(event.error as TokenPakError, requestId) });
          return;
        default:
          break;
      }
    }
  },

  renderError(error, { requestId }) {
    return {
      status: error.status,
      body: errorBody(error, requestId),
      headers: retryHeaders(error),
    };
  },

  renderModels(models) {
    const data = models.map(modelObject);
    return { data, has_more: false, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null };
  },

  renderModel(model) {
    return modelObject(model);
  },

  headers({ requestId }) {
    return { 'request-id': requestId };
  },
};

// ---------------------------------------------------------------------------
// Upstream direction: canonical → the request sent to Anthropic, and its answer → canonical.

/** Where Anthropic's API is when neither `base_url` nor `ANTHROPIC_BASE_URL` says otherwise. */
export const ANTHROPIC_BASE_URL = 'https://api.anthropic.com';

/** The message of an Anthropic error body, `{type: "error", error: {type, message}}`. */
export function anthropicErrorMessage(body: unknown): string | undefined {
  const error = (body as { error?: unknown } | null)?.error;
  if (typeof error === 'string') return error;
  if (error && typeof error === 'object') {
    const { message, type } = error as { message?: unknown; type?: unknown };
    if (typeof message === 'string') return typeof type === 'string' ? `${message} (${type})` : message;
  }
  return undefined;
}

/**
 * Short names Anthropic's API does not know, mapped to the model ids it does.
 * `claude-3-sonnet` is the recipe's name. Every other name is sent as written.
 */
export const ANTHROPIC_MODEL_ALIASES: Readonly<Record<string, string>> = {
  'claude-3-sonnet': 'claude-3-sonnet-20240229',
  'claude-3-opus': 'claude-3-opus-20240229',
  'claude-3-haiku': 'claude-3-haiku-20240307',
};

/**
 * Models that answer 400 to any sampling parameter (Claude Opus 4.7 and later,
 * every generation-5 model): `temperature` and `top_p` are left out for them,
 * so that a request written for another model still works after a fallback.
 */
const REJECTS_SAMPLING = /^claude-(?:opus-4-[7-9]|[a-z]+-(?:[5-9]|\d\d)(?:-|$))/;

/**
 * The request body. The official SDK's current types no longer list the
 * sampling parameters, which older models still take.
 */
export type AnthropicRequestBody = MessageCreateParamsBase & { temperature?: number; top_p?: number };

export interface AnthropicRequestOptions {
  /** `max_tokens` when the request has none (Anthropic requires it). */
  defaultMaxTokens: number;
  stream: boolean;
}

/** The Messages request body for a canonical request. */
export function toAnthropicRequest(request: ChatRequest, options: AnthropicRequestOptions): AnthropicRequestBody {
  const body: AnthropicRequestBody = {
    model: ANTHROPIC_MODEL_ALIASES[request.model] ?? request.model,
    max_tokens: request.maxTokens ?? options.defaultMaxTokens,
    messages: toAnthropicMessages(request),
  };
  const system = [request.system, jsonInstruction(request.responseFormat)].filter((s) => s !== undefined && s !== '').join('\n\n');
  if (system !== '') body.system = system;
  if (!REJECTS_SAMPLING.test(body.model)) {
    // Anthropic's temperature range is 0-1; OpenAI clients may send up to 2.
    if (request.temperature !== undefined) body.temperature = Math.min(1, request.temperature);
    if (request.topP !== undefined) body.top_p = request.topP;
  }
  if (request.stop !== undefined && request.stop.length > 0) body.stop_sequences = request.stop;
  if (request.tools !== undefined && request.tools.length > 0) {
    body.tools = request.tools.map((tool) => ({
      name: tool.name,
      ...(tool.description !== undefined ? { description: tool.description } : {}),
      input_schema: { type: 'object', ...tool.parameters },
    }));
  }
  if (request.toolChoice !== undefined) body.tool_choice = toAnthropicToolChoice(request.toolChoice);
  if (options.stream) body.stream = true;
  return body;
}

/**
 * Anthropic has no JSON mode: a JSON answer is asked for in the system
 * prompt, with the schema when there is one (best effort; a model can still
 * answer otherwise).
 */
function jsonInstruction(format: ChatRequest['responseFormat']): string | undefined {
  if (format === undefined || format.type === 'text') return undefined;
  if (format.type === 'json_object') return 'Answer with one JSON object and nothing else: no prose, no code fences.';
  return `Answer with one JSON object and nothing else (no prose, no code fences) that matches this JSON Schema:\n${JSON.stringify(format.schema)}`;
}

function toAnthropicToolChoice(choice: NonNullable<ChatRequest['toolChoice']>): AnthropicToolChoice {
  switch (choice.type) {
    case 'auto':
      return { type: 'auto' };
    case 'none':
      return { type: 'none' };
    case 'required':
      return { type: 'any' };
    case 'tool':
      return { type: 'tool', name: choice.name };
  }
}

const DATA_URL = /^data:([^;,]+)?(?:;[^,]*)?;base64,(.*)$/s;

function toAnthropicMessages(request: ChatRequest): MessageParam[] {
  const messages: Array<{ role: 'user' | 'assistant'; content: ContentBlockParam[] }> = [];
  for (const message of request.messages) {
    const role = message.role === 'assistant' ? 'assistant' : 'user';
    const blocks: ContentBlockParam[] = [];
    for (const part of message.content) {
      switch (part.type) {
        case 'text':
          // Anthropic rejects empty text blocks.
          if (part.text !== '') blocks.push({ type: 'text', text: part.text });
          break;
        case 'image': {
          const data = DATA_URL.exec(part.url);
          blocks.push(
            data
              ? {
                  type: 'image',
                  source: { type: 'base64', media_type: (part.mediaType ?? data[1] ?? 'image/png') as 'image/png', data: data[2]! },
                }
              : { type: 'image', source: { type: 'url', url: part.url } },
          );
          break;
        }
        case 'tool-call':
          blocks.push({ type: 'tool_use', id: part.id, name: part.name, input: parseArguments(part.arguments) });
          break;
        case 'tool-result':
          blocks.push({ type: 'tool_result', tool_use_id: part.toolCallId, content: part.content, ...(part.isError ? { is_error: true } : {}) });
          break;
      }
    }
    if (blocks.length === 0) continue;
    // Consecutive turns of one role (a tool message, then user text) become one message.
    const last = messages.at(-1);
    if (last?.role === role) last.content.push(...blocks);
    else messages.push({ role, content: blocks });
  }
  // Anthropic wants a user turn's tool results ahead of its other content.
  for (const message of messages) {
    if (message.role === 'user') message.content.sort((a, b) => Number(b.type === 'tool_result') - Number(a.type === 'tool_result'));
  }
  return messages;
}

type UsageFields = Partial<Pick<AnthropicUsage, 'input_tokens' | 'output_tokens' | 'cache_read_input_tokens' | 'cache_creation_input_tokens'>>;

/**
 * Canonical usage of Anthropic's `usage`. Anthropic's `input_tokens` leaves out
 * tokens read from or written to the prompt cache; canonical `inputTokens`
 * counts them all, with the cache reads also in `cachedInputTokens`.
 */
export function usageOf(usage: UsageFields | null | undefined): Usage {
  const read = usage?.cache_read_input_tokens ?? 0;
  const written = usage?.cache_creation_input_tokens ?? 0;
  const result: Usage = { inputTokens: (usage?.input_tokens ?? 0) + read + written, outputTokens: usage?.output_tokens ?? 0 };
  if (read > 0) result.cachedInputTokens = read;
  return result;
}

/** Reads a Messages answer; throws a TypeError naming what is missing when it is not one. */
export function fromAnthropicResponse(body: unknown): ChatResponse {
  const message = body as AnthropicMessage;
  if (!message || !Array.isArray(message.content)) throw new TypeError('the answer has no content list');
  const content: Array<TextPart | ToolCallPart> = [];
  for (const block of message.content) {
    if (block.type === 'text') {
      const last = content.at(-1);
      if (last?.type === 'text') last.text += block.text;
      else content.push({ type: 'text', text: block.text });
    } else if (block.type === 'tool_use') {
      content.push({ type: 'tool-call', id: block.id, name: block.name, arguments: JSON.stringify(block.input ?? {}) });
    }
  }
  const response: ChatResponse = {
    id: message.id ?? '',
    model: message.model ?? '',
    content,
    stopReason: stopReasonOf(message.stop_reason),
    usage: usageOf(message.usage),
  };
  if (message.stop_reason === 'stop_sequence' && message.stop_sequence) response.stopSequence = message.stop_sequence;
  return response;
}

/** An `error` event of an Anthropic stream. */
export interface AnthropicStreamError {
  type: 'error';
  error: { type: string; message: string };
}

/** Turns Anthropic stream events into canonical ones. */
export class AnthropicStreamDecoder {
  #usage: UsageFields = {};
  #stopReason: string | null = null;
  #stopSequence: string | null = null;
  /** Content block index → tool index, for tool_use blocks. */
  readonly #tools = new Map<number, number>();
  #toolCount = 0;
  /** `message_stop` was seen: the answer is complete. */
  stopped = false;

  /** Events for one stream event (an `error` event is the caller's to raise). */
  *event(event: RawMessageStreamEvent): Generator<StreamEvent> {
    switch (event.type) {
      case 'message_start': {
        this.#usage = { ...event.message.usage };
        const input = usageOf(this.#usage).inputTokens;
        yield { type: 'start', id: event.message.id, model: event.message.model, ...(input > 0 ? { inputTokens: input } : {}) };
        break;
      }
      case 'content_block_start': {
        const block = event.content_block;
        if (block.type === 'text' && block.text) yield { type: 'text-delta', text: block.text };
        if (block.type === 'tool_use') {
          const index = this.#toolCount++;
          this.#tools.set(event.index, index);
          yield { type: 'tool-call-start', index, id: block.id, name: block.name };
          const input = block.input as Record<string, unknown> | undefined;
          if (input && Object.keys(input).length > 0) yield { type: 'tool-call-delta', index, argumentsDelta: JSON.stringify(input) };
        }
        break;
      }
      case 'content_block_delta': {
        const delta = event.delta;
        if (delta.type === 'text_delta') yield { type: 'text-delta', text: delta.text };
        else if (delta.type === 'input_json_delta') {
          const index = this.#tools.get(event.index);
          if (index !== undefined && delta.partial_json) yield { type: 'tool-call-delta', index, argumentsDelta: delta.partial_json };
        }
        break;
      }
      case 'content_block_stop': {
        const index = this.#tools.get(event.index);
        if (index !== undefined) yield { type: 'tool-call-end', index };
        break;
      }
      case 'message_delta': {
        this.#stopReason = event.delta.stop_reason ?? this.#stopReason;
        this.#stopSequence = event.delta.stop_sequence ?? this.#stopSequence;
        // message_delta carries the final (cumulative) counts; null fields keep what message_start said.
        for (const [key, value] of Object.entries(event.usage ?? {})) {
          if (typeof value === 'number') (this.#usage as Record<string, number>)[key] = value;
        }
        break;
      }
      case 'message_stop': {
        this.stopped = true;
        yield {
          type: 'finish',
          stopReason: stopReasonOf(this.#stopReason),
          usage: usageOf(this.#usage),
          ...(this.#stopReason === 'stop_sequence' && this.#stopSequence ? { stopSequence: this.#stopSequence } : {}),
        };
        break;
      }
    }
  }
}
