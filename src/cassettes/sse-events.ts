/**
 * Server-sent events as bytes: cutting a recorded byte stream into its events
 * (with when each arrived) and spelling an event back to the same bytes.
 * Parsing events into fields for the providers stays with `parseSSE`.
 */
import { sseField } from '../formats/sse.ts';
import type { RecordedEvent } from './types.ts';

/** A piece of a response body and when it arrived (ms from the request's start). */
export interface TimedChunk {
  at: number;
  text: string;
}

// An event ends at a blank line, whatever the line ends are.
const EVENT_END = /\r\n\r\n|\n\n|\r\r|\r\n\n|\n\r\n/g;

/**
 * The events of a byte stream, each stamped with the arrival of the chunk that
 * completed it. Bytes after the last blank line (an event the stream never
 * finished) come back as `rest`.
 */
export function splitEvents(chunks: readonly TimedChunk[]): { events: RecordedEvent[]; rest: string } {
  const events: RecordedEvent[] = [];
  let buffer = '';
  for (const chunk of chunks) {
    buffer += chunk.text;
    let start = 0;
    EVENT_END.lastIndex = 0;
    for (let match = EVENT_END.exec(buffer); match; match = EVENT_END.exec(buffer)) {
      const end = match.index + match[0].length;
      events.push(recordedEvent(chunk.at, buffer.slice(start, end)));
      start = end;
    }
    buffer = buffer.slice(start);
  }
  return { events, rest: buffer };
}

/** An event's fields from its bytes; `raw` is kept only when the usual spelling would differ. */
export function recordedEvent(at: number, raw: string): RecordedEvent {
  let event: string | undefined;
  const data: string[] = [];
  for (const line of raw.split(/\r\n|\r|\n/)) {
    if (line === '' || line.startsWith(':')) continue;
    const [field, value] = sseField(line);
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  const recorded: RecordedEvent = { at, ...(event !== undefined ? { event } : {}), data: data.join('\n') };
  if (spell(recorded) !== raw) recorded.raw = raw;
  return recorded;
}

/** The bytes of a recorded event. */
export function eventBytes(event: RecordedEvent): string {
  return event.raw ?? spell(event);
}

function spell(event: Pick<RecordedEvent, 'event' | 'data'>): string {
  let out = event.event !== undefined ? `event: ${event.event}\n` : '';
  for (const line of event.data.split('\n')) out += `data: ${line}\n`;
  return `${out}\n`;
}
