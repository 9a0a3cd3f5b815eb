/**
 * Server-held conversations: what a client continues with OpenAI Responses'
 * `previous_response_id` or an Anthropic message thread, kept in this
 * TokenPak's memory. Each stored turn holds the whole history up to and
 * including its answer, so a continuation is rebuilt into one full canonical
 * request that any provider of the route can answer (fallback across
 * providers works as for any request).
 *
 * Bounded: at most `maxCount` conversations and `maxBytes` in all, each
 * counted at the JSON size of its whole history (an upper bound: turns of one
 * conversation share their message objects); the least recently used go
 * first. A conversation larger than `maxBytes` on its own is not stored.
 */
import type { Message, ToolDefinition } from '../canonical/types.ts';

/** One stored turn: the history a continuation starts from. */
export interface StoredConversation {
  /** Every message so far, the answer of this turn last. */
  messages: readonly Message[];
  /** The system prompt the conversation was created with (kept for threads, which carry it over). */
  system?: string;
  /** The tools the conversation was created with (kept for threads, which carry them over). */
  tools?: readonly ToolDefinition[];
  /** A later request continued from this turn (threads allow one continuation per turn). */
  continued: boolean;
  /** A request continuing from this turn is being answered. */
  inFlight: boolean;
}

export interface ConversationStoreOptions {
  /** Most conversations kept; 0 keeps none. */
  maxCount: number;
  /** Most bytes kept in all. */
  maxBytes: number;
}

export interface ConversationStore {
  readonly maxCount: number;
  readonly maxBytes: number;
  /** The conversation stored under `id`, marked as recently used; undefined when it is not (or no longer) kept. */
  get(id: string): StoredConversation | undefined;
  /**
   * Stores a conversation under `id` (replacing one stored under it), dropping
   * the least recently used ones to make room. False when it is too large to keep.
   */
  put(id: string, conversation: Omit<StoredConversation, 'continued' | 'inFlight'>): boolean;
  /** JSON size of a history, as the store counts it. */
  sizeOf(conversation: Pick<StoredConversation, 'messages' | 'system' | 'tools'>): number;
  /** Conversations and bytes kept now. */
  readonly usage: { count: number; bytes: number };
}

export function createConversationStore(options: ConversationStoreOptions): ConversationStore {
  const { maxCount, maxBytes } = options;
  // A Map iterates in insertion order: re-inserting on use keeps the least recently used first.
  const entries = new Map<string, { conversation: StoredConversation; bytes: number }>();
  let bytes = 0;

  const sizeOf = (conversation: Pick<StoredConversation, 'messages' | 'system' | 'tools'>) =>
    Buffer.byteLength(JSON.stringify([conversation.system ?? null, conversation.tools ?? null, conversation.messages]));

  const remove = (id: string) => {
    const entry = entries.get(id);
    if (!entry) return;
    entries.delete(id);
    bytes -= entry.bytes;
  };

  return {
    maxCount,
    maxBytes,
    get(id) {
      const entry = entries.get(id);
      if (!entry) return undefined;
      entries.delete(id);
      entries.set(id, entry);
      return entry.conversation;
    },
    put(id, conversation) {
      const size = sizeOf(conversation);
      remove(id);
      if (maxCount === 0 || size > maxBytes) return false;
      for (const [oldest] of entries) {
        if (entries.size < maxCount && bytes + size <= maxBytes) break;
        remove(oldest);
      }
      entries.set(id, { conversation: { ...conversation, continued: false, inFlight: false }, bytes: size });
      bytes += size;
      return true;
    },
    sizeOf,
    get usage() {
      return { count: entries.size, bytes };
    },
  };
}
