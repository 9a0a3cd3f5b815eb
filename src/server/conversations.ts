/**
 * Continuing and keeping server-held conversations, for the chat endpoint:
 * a request that continues one gets the stored history put in front of its
 * own messages (so every provider sees the full conversation), and its answer
 * is stored under the id the client will continue from. Refusals use each
 * API's own error code, which its SDK acts on (`thread_not_found` → the
 * Anthropic SDK replays the whole history under a new thread;
 * `thread_unsupported_request` → its tool runner goes on without threads).
 */
import type { ChatRequest, ChatResponse, Message } from '../canonical/types.ts';
import { ConversationError, RequestError } from '../errors.ts';
import type { ConversationRequest } from '../formats/types.ts';
import type { ConversationStore, StoredConversation } from './conversation-store.ts';

/** A request with its stored history in front, and the stored turn it continues. */
export interface Resumed {
  request: ChatRequest;
  /** The stored turn continued (marked in flight for threads until {@link settle}). */
  from?: StoredConversation;
}

/** Puts the stored history in front of `request`, or throws the API's refusal. */
export function resume(store: ConversationStore, ask: ConversationRequest, request: ChatRequest): Resumed {
  const thread = ask.kind === 'thread';
  const off = store.maxCount === 0;
  if (thread && off) {
    throw unsupported('TokenPak keeps no conversations (server.conversations.max_count is 0): send the whole conversation without `thread`.');
  }
  if (ask.previousId === undefined) {
    if (thread && store.sizeOf(request) > store.maxBytes) {
      throw unsupported(`This conversation is larger than TokenPak keeps (server.conversations.max_memory, ${store.maxBytes} bytes): send it without \`thread\`, or raise the limit.`);
    }
    return { request };
  }
  const id = ask.previousId;
  const from = off ? undefined : store.get(id);
  if (!from) {
    if (thread) {
      throw new ConversationError('conversation_not_found', `No thread state was found for previous_message_id ${id}: TokenPak keeps threads in memory (server.conversations: max_count ${store.maxCount}, max_memory ${store.maxBytes} bytes; the least recently used go first, and a restart forgets them all). Replay the full conversation with thread: {"type": "create"}.`, { wireCode: 'thread_not_found', status: 404, param: 'thread.previous_message_id' });
    }
    const why = off ? ' TokenPak keeps no responses (server.conversations.max_count is 0).' : ` TokenPak keeps responses in memory (server.conversations: max_count ${store.maxCount}, max_memory ${store.maxBytes} bytes) and only those created with store: true; send the whole conversation in input instead.`;
    throw new ConversationError('conversation_not_found', `Previous response with id '${id}' not found.${why}`, { wireCode: 'previous_response_not_found', param: 'previous_response_id' });
  }
  if (thread) {
    if (from.continued) {
      throw new ConversationError('conversation_rejected', `The reply ${id} was already continued by another request: continue from the newest reply's id, or replay the full conversation with thread: {"type": "create"}.`, { wireCode: 'thread_already_continued', param: 'thread.previous_message_id' });
    }
    if (from.inFlight) {
      throw new ConversationError('conversation_rejected', `Another request is still continuing from ${id}: wait for it and continue from its reply's id, or replay the full conversation with thread: {"type": "create"}.`, { wireCode: 'thread_continue_in_flight', param: 'thread.previous_message_id' });
    }
    const changed = [
      request.system !== undefined && request.system !== from.system ? 'system' : undefined,
      request.tools !== undefined && JSON.stringify(request.tools) !== JSON.stringify(from.tools ?? []) ? 'tools' : undefined,
    ].filter((field) => field !== undefined);
    if (changed.length > 0) {
      throw new ConversationError('conversation_rejected', `${changed.join(' and ')} differ from the values the thread was created with: leave them out of a continue (the thread keeps them), or replay the full conversation with thread: {"type": "create"} to change them.`, { wireCode: 'thread_fingerprint_mismatch', param: changed[0]! });
    }
  }
  const merged: ChatRequest = { ...request, messages: [...from.messages, ...request.messages] };
  if (thread) {
    if (from.system !== undefined) merged.system = from.system;
    else delete merged.system;
    if (from.tools !== undefined) merged.tools = [...from.tools];
    else delete merged.tools;
  }
  checkToolResults(merged.messages, from.messages.length, ask.kind);
  if (thread) from.inFlight = true;
  return { request: merged, from };
}

/**
 * Ends a request that continued or asked to keep a conversation: on success,
 * stores the history with its answer under `id` (when asked to) and marks the
 * continued turn as continued; on failure, frees the continued turn.
 */
export function settle(store: ConversationStore, ask: ConversationRequest, resumed: Resumed, id: string, answer: ChatResponse | undefined): void {
  if (resumed.from) resumed.from.inFlight = false;
  if (!answer) return;
  if (resumed.from && ask.kind === 'thread') resumed.from.continued = true;
  if (!ask.store || store.maxCount === 0) return;
  const { request } = resumed;
  const history: Message[] = [...request.messages, { role: 'assistant', content: answer.content.map((part) => ({ ...part })) }];
  store.put(id, {
    messages: history,
    // Responses carry only messages over (instructions and tools are per request); threads keep both.
    ...(ask.kind === 'thread' && request.system !== undefined ? { system: request.system } : {}),
    ...(ask.kind === 'thread' && request.tools !== undefined ? { tools: request.tools } : {}),
  });
}

/** Every tool result among the new messages answers a tool call made before it. */
function checkToolResults(messages: readonly Message[], firstNew: number, kind: ConversationRequest['kind']): void {
  const calls = new Set<string>();
  messages.forEach((message, i) => {
    for (const part of message.content) {
      if (part.type === 'tool-call') calls.add(part.id);
      if (part.type === 'tool-result' && i >= firstNew && !calls.has(part.toolCallId)) {
        throw kind === 'responses'
          ? new RequestError(`No tool call found for function call output with call_id ${part.toolCallId}.`, { param: 'input' })
          : new RequestError(`messages: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${part.toolCallId}. Each \`tool_result\` block must have a corresponding \`tool_use\` block in the previous message.`, { param: 'messages' });
      }
    }
  });
}

function unsupported(message: string): ConversationError {
  return new ConversationError('conversation_rejected', message, { wireCode: 'thread_unsupported_request', param: 'thread', details: { unsupported: [] } });
}
