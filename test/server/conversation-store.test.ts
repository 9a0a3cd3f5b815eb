/**
 * The conversation store's bounds: count, bytes, least recently used first,
 * and a conversation too large to keep.
 */
import { describe, expect, test } from 'vitest';
import type { Message } from '../../src/canonical/types.ts';
import { createConversationStore } from '../../src/server/conversation-store.ts';

const said = (text: string): Message[] => [{ role: 'user', content: [{ type: 'text', text }] }];

describe('conversation store', () => {
  test('keeps at most max_count, dropping the least recently used (a read counts as a use)', () => {
    const store = createConversationStore({ maxCount: 2, maxBytes: 1_000_000 });
    store.put('a', { messages: said('a') });
    store.put('b', { messages: said('b') });
    expect(store.get('a')).toBeDefined(); // a is now the most recently used
    store.put('c', { messages: said('c') });
    expect(store.get('b')).toBeUndefined();
    expect(store.get('a')?.messages).toEqual(said('a'));
    expect(store.get('c')?.messages).toEqual(said('c'));
    expect(store.usage.count).toBe(2);
  });

  test('keeps at most max_memory bytes in all, each conversation counted at its JSON size', () => {
    const one = createConversationStore({ maxCount: 100, maxBytes: 1_000_000 }).sizeOf({ messages: said('x'.repeat(100)) });
    const store = createConversationStore({ maxCount: 100, maxBytes: one * 2 + one / 2 });
    for (const id of ['a', 'b', 'c']) store.put(id, { messages: said(id.repeat(100)) });
    expect(store.get('a')).toBeUndefined();
    expect(store.get('b')).toBeDefined();
    expect(store.get('c')).toBeDefined();
    expect(store.usage).toEqual({ count: 2, bytes: one * 2 });
  });

  test('a conversation larger than max_memory on its own is not kept, and evicts nothing', () => {
    const store = createConversationStore({ maxCount: 10, maxBytes: 200 });
    expect(store.put('small', { messages: said('hi') })).toBe(true);
    expect(store.put('huge', { messages: said('x'.repeat(500)) })).toBe(false);
    expect(store.get('huge')).toBeUndefined();
    expect(store.get('small')).toBeDefined();
  });

  test('max_count 0 keeps nothing', () => {
    const store = createConversationStore({ maxCount: 0, maxBytes: 1_000_000 });
    expect(store.put('a', { messages: said('a') })).toBe(false);
    expect(store.usage).toEqual({ count: 0, bytes: 0 });
  });
});
