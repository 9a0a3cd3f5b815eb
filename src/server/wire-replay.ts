/**
 * Byte-for-byte replay: when an answer comes from a cassette recorded from
 * the API the client speaks, the client gets the recorded bytes (events,
 * their boundaries and timing) rather than TokenPak's rendering of them.
 */
import type { StreamEvent } from '../canonical/types.ts';
import type { WireReplay } from '../cassettes/types.ts';
import { SSE_HEADERS } from '../formats/sse.ts';
import type { ServerAnswer } from './exchange.ts';

/** The header a client names its cassette scenario with. */
export const CASSETTE_HEADER = 'x-tokenpak-cassette';

/**
 * Whether a client's request asks for exactly what TokenPak asked the API
 * for, so that the recorded bytes are what the API would send this client.
 * TokenPak always asks Chat Completions streams for usage; a client that did
 * not gets TokenPak's rendering instead (no usage chunk it did not ask for).
 */
export function wantsRecordedBytes(format: string, raw: unknown, stream: boolean): boolean {
  if (format === 'openai-chat' && stream) {
    return (raw as { stream_options?: { include_usage?: unknown } } | null)?.stream_options?.include_usage === true;
  }
  return true;
}

/** Thrown into a response body to cut the connection where the recording was cut. */
export class RecordedCut extends Error {}

/**
 * A streamed answer made of the recorded events, at their recorded offsets
 * from the start of the replay. The canonical events are read to their end
 * alongside, so the call is logged and priced as any other.
 */
export function wireStream(wire: WireReplay, canonical: AsyncIterable<StreamEvent>, headers: Record<string, string>): ServerAnswer {
  void (async () => {
    // The canonical side only feeds the call log; a failure there is recorded by the router.
    for await (const _ of canonical);
  })().catch(() => {});
  const encoder = new TextEncoder();
  async function* bytes(): AsyncGenerator<Uint8Array> {
    for (const event of wire.events ?? []) {
      const wait = wire.startedAt + event.at - performance.now();
      if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
      yield encoder.encode(event.bytes);
    }
    if (wire.cut) throw new RecordedCut('The recorded stream was cut here.');
  }
  return {
    status: 200,
    headers: { ...SSE_HEADERS, ...(wire.headers['content-type'] ? { 'content-type': wire.headers['content-type'] } : {}), ...headers },
    body: bytes(),
  };
}
