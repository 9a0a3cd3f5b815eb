/**
 * What the mock's rules look at in a request: the facts of the conversation
 * (last user message, trailing tool results, turn number) and of the request
 * (system prompt, tools, response format, tool choice, metadata, headers).
 */
import type { ChatRequest, Message, RequestHeaders, ResponseFormat, ToolChoice } from '../../canonical/types.ts';
import { textOf } from '../../canonical/types.ts';

/** One tool result the conversation ends with. */
export interface TrailingToolResult {
  /** Name of the tool whose call this answers ('' when the call is not in the conversation). */
  name: string;
  /** The result's text. */
  content: string;
  isError: boolean;
}

/** The facts rules are matched against, for a conversation as it stood at some turn. */
export interface ConversationFacts {
  /** Text of the last user message. */
  prompt: string;
  system: string;
  /** Assistant messages so far. */
  turn: number;
  /** The tool results the conversation ends with, in order; empty when it does not end with tool results. */
  toolResults: TrailingToolResult[];
  /** Names of the tool calls in the last assistant message, when the conversation ends with their results. */
  answeredToolCalls: string[];
  tools: ReadonlySet<string>;
  responseFormat: ResponseFormat['type'] | undefined;
  toolChoice: ToolChoice | undefined;
  metadata: Readonly<Record<string, string>>;
  /** The client's request headers (none when the call did not come over HTTP). */
  headers: RequestHeaders | undefined;
}

/** Facts that do not change from turn to turn within one request. */
type RequestFacts = Pick<ConversationFacts, 'system' | 'tools' | 'responseFormat' | 'toolChoice' | 'metadata' | 'headers'>;

/** The request-level facts, once per request. */
export function requestFacts(request: ChatRequest, headers?: RequestHeaders): RequestFacts {
  return {
    system: request.system ?? '',
    tools: new Set((request.tools ?? []).map((t) => t.name)),
    responseFormat: request.responseFormat?.type,
    toolChoice: request.toolChoice,
    metadata: request.metadata ?? {},
    headers,
  };
}

/**
 * The facts of the conversation made of the first `end` messages, given the
 * last user text and assistant-turn count up to there (the caller walks the
 * messages once): the mock replays earlier turns with these to work out
 * which rule answered them.
 */
export function conversationFacts(
  messages: readonly Message[],
  end: number,
  shared: RequestFacts,
  walked: { prompt: string; turn: number },
): ConversationFacts {
  const toolResults: TrailingToolResult[] = [];
  const answeredToolCalls: string[] = [];
  let first = end;
  while (first > 0 && messages[first - 1]!.role === 'tool') first--;
  if (first < end) {
    // Both OpenAI and Anthropic require tool results right after the message with their calls.
    const names = new Map<string, string>();
    const previous = messages[first - 1];
    if (previous?.role === 'assistant') {
      for (const part of previous.content) if (part.type === 'tool-call') names.set(part.id, part.name);
    }
    for (let i = first; i < end; i++) {
      for (const part of messages[i]!.content) {
        if (part.type !== 'tool-result') continue;
        toolResults.push({ name: names.get(part.toolCallId) ?? '', content: part.content, isError: part.isError === true });
      }
    }
    if (toolResults.length > 0) answeredToolCalls.push(...names.values());
  }
  return { ...shared, prompt: walked.prompt, turn: walked.turn, toolResults, answeredToolCalls };
}

/** Walks a conversation once: the facts before each assistant message, then the facts of the whole. */
export function* replayTurns(messages: readonly Message[], shared: RequestFacts): Generator<ConversationFacts> {
  const walked = { prompt: '', turn: 0 };
  for (let i = 0; i < messages.length; i++) {
    const message = messages[i]!;
    if (message.role === 'assistant') {
      yield conversationFacts(messages, i, shared, walked);
      walked.turn++;
    } else if (message.role === 'user') {
      walked.prompt = textOf(message.content);
    }
  }
  yield conversationFacts(messages, messages.length, shared, walked);
}
