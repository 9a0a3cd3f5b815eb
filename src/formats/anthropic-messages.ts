/**
 * The Anthropic Messages API (`POST /v1/messages` with an `anthropic-version`
 * header): content blocks, `tool_use` and `tool_result`, `system` as a string
 * or text blocks, `stop_reason`, `usage`; streams of `message_start`,
 * `content_block_start`, `ping`, `content_block_delta` (`text_delta`,
 * `input_json_delta`), `content_block_stop`, `message_delta` and
 * `message_stop`; errors as `{type: "error", error: {type, message}}`.
 * https://docs.anthropic.com/en/api/messages
 */
import { z } from 'zod';
import type { ChatRequest, ContentPart, Message, StopReason, ToolChoice, ToolDefinition, Usage } from '../canonical/types.ts';
import type { TokenPakError } from '../errors.ts';
import { didYouMean } from '../util/did-you-mean.ts';
import { encodeSSE } from './sse.ts';
import type { ModelListing, WireFormat } from './types.ts';
import { compactId, dottedPath, fieldError, firstProblem, isObject, jsonType, parseArguments } from './wire-utils.ts';

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
  ...Object.fromEntries(ACCEPTED_IGNORED.map((key) => [key, z.unknown().optional()])),
});

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

function toMessages(raw: readonly unknown[]): Message[] {
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
          if (!open?.ids.delete(id)) {
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
  if (body.messages.length === 0) throw fieldError('messages', 'messages: at least one message is required');
  const request: ChatRequest = { model: body.model, messages: toMessages(body.messages), maxTokens: body.max_tokens };
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

function stopReasonOf(reason: StopReason, stopSequence: string | undefined): string {
  switch (reason) {
    case 'stop':
      return stopSequence !== undefined ? 'stop_sequence' : 'end_turn';
    case 'length':
      return 'max_tokens';
    case 'tool-calls':
      return 'tool_use';
    case 'content-filter':
      return 'refusal';
  }
}

function usageOf(usage: Usage) {
  return {
    input_tokens: usage.inputTokens,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: usage.cachedInputTokens ?? 0,
    output_tokens: usage.outputTokens,
    service_tier: 'standard',
  };
}

/** Anthropic's error type for an HTTP status. */
function errorType(status: number): string {
  switch (status) {
    case 400:
      return 'invalid_request_error';
    case 401:
      return 'authentication_error';
    case 402:
      return 'billing_error';
    case 403:
      return 'permission_error';
    case 404:
      return 'not_found_error';
    case 413:
      return 'request_too_large';
    case 429:
      return 'rate_limit_error';
    case 504:
      return 'timeout_error';
    case 529:
      return 'overloaded_error';
    default:
      return status >= 500 ? 'api_error' : 'invalid_request_error';
  }
}

function modelObject({ route, createdAt }: ModelListing) {
  return { type: 'model', id: route.name, display_name: route.name, created_at: new Date(createdAt).toISOString() };
}

function errorBody(error: TokenPakError, requestId: string) {
  return { type: 'error', error: { type: errorType(error.status), message: error.detail }, request_id: requestId };
}

export const anthropicMessagesFormat: WireFormat = {
  name: 'anthropic-messages',

  parseRequest(body) {
    if (!isObject(body)) throw fieldError('', `The request body must be a JSON object, not ${jsonType(body)}. Send {"model": "...", "max_tokens": 1024, "messages": [{"role": "user", "content": "Hello"}]}.`);
    const parsed = requestSchema.safeParse(body);
    if (!parsed.success) {
      const problem = firstProblem(parsed.error, body, dottedPath);
      if (problem.kind === 'unknown-key') throw fieldError(problem.param, `${problem.param}: Extra inputs are not permitted.${didYouMean(problem.key!, KNOWN_KEYS)}`);
      if (problem.kind === 'missing') throw fieldError(problem.param, `${problem.param}: Field required`);
      throw fieldError(problem.param, `${problem.param}: ${problem.message}`);
    }
    return { request: toCanonical(parsed.data), stream: parsed.data.stream === true };
  },

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
      stop_reason: stopReasonOf(response.stopReason, response.stopSequence),
      stop_sequence: response.stopSequence ?? null,
      stop_details: null,
      container: null,
      usage: usageOf(response.usage),
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
              usage: usageOf({ inputTokens: event.inputTokens ?? 0, outputTokens: 1 }),
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
            delta: { stop_reason: stopReasonOf(event.stopReason, event.stopSequence), stop_sequence: event.stopSequence ?? null, stop_details: null },
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
      ...(error.retryAfterSeconds !== undefined ? { headers: { 'retry-after': String(error.retryAfterSeconds) } } : {}),
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
