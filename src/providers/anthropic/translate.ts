/**
 * Canonical ⇄ Anthropic Messages, in the upstream direction: the request
 * TokenPak sends to Anthropic, and the answer and stream events it reads back.
 * The wire types are the official `@anthropic-ai/sdk` package's own (type-only
 * imports: nothing of the SDK runs).
 */
import type {
  ContentBlockParam,
  Message,
  MessageCreateParamsBase,
  MessageParam,
  RawMessageStreamEvent,
  ToolChoice,
  Usage as AnthropicUsage,
} from '@anthropic-ai/sdk/resources/messages';
import type { ChatRequest, ChatResponse, StopReason, StreamEvent, TextPart, ToolCallPart, Usage } from '../../canonical/types.ts';
import { parseArguments } from '../../formats/wire-utils.ts';

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

function toAnthropicToolChoice(choice: NonNullable<ChatRequest['toolChoice']>): ToolChoice {
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

const STOP_REASONS: Record<string, StopReason> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  pause_turn: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  tool_use: 'tool-calls',
  refusal: 'content-filter',
};

/** Canonical stop reason of Anthropic's `stop_reason` (unknown ones count as `stop`). */
export function stopReasonOf(reason: string | null | undefined): StopReason {
  return (reason && STOP_REASONS[reason]) || 'stop';
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
  const message = body as Message;
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
