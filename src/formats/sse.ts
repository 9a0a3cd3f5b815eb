/**
 * Server-sent events: the one writer and the one parser in TokenPak.
 * https://html.spec.whatwg.org/multipage/server-sent-events.html
 */

/** One event to send. */
export interface SSEMessage {
  /** `event:` field; omitted for plain `message` events. */
  event?: string;
  /** `data:` payload; objects are sent as JSON. */
  data: string | object;
  id?: string;
}

/** Headers every SSE response carries. */
export const SSE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  connection: 'keep-alive',
  // Tell buffering reverse proxies (nginx) to pass chunks through at once.
  'x-accel-buffering': 'no',
};

/** Encodes one event. Throws if `event` or `id` contain a line break (that would forge fields). */
export function encodeSSE(message: SSEMessage): string {
  let out = '';
  if (message.event !== undefined) {
    if (/[\r\n]/.test(message.event)) throw new TypeError('SSE event names cannot contain line breaks');
    out += `event: ${message.event}\n`;
  }
  if (message.id !== undefined) {
    if (/[\r\n\0]/.test(message.id)) throw new TypeError('SSE ids cannot contain line breaks or NUL');
    out += `id: ${message.id}\n`;
  }
  const data = typeof message.data === 'string' ? message.data : JSON.stringify(message.data);
  for (const line of data.split(/\r\n|\r|\n/)) out += `data: ${line}\n`;
  return out + '\n';
}

/** One parsed event. */
export interface ParsedSSE {
  /** The `event:` field, or `message`. */
  event: string;
  data: string;
  id?: string;
  retry?: number;
}

/** The field name and value of one SSE line (`data: x` → `['data', 'x']`; one leading space of the value is not part of it). */
export function sseField(line: string): [field: string, value: string] {
  const colon = line.indexOf(':');
  if (colon === -1) return [line, ''];
  const value = line.slice(colon + 1);
  return [line.slice(0, colon), value.startsWith(' ') ? value.slice(1) : value];
}

/**
 * Parses an SSE byte stream into events (comments and empty events are
 * skipped; an event not ended by a blank line when the stream ends is dropped).
 */
export async function* parseSSE(body: AsyncIterable<Uint8Array | string>): AsyncGenerator<ParsedSSE> {
  const decoder = new TextDecoder();
  let buffer = '';
  let event = '';
  let data: string[] = [];
  let id: string | undefined;
  let retry: number | undefined;
  const dispatch = (): ParsedSSE | undefined => {
    const result = data.length > 0 ? { event: event || 'message', data: data.join('\n'), ...(id !== undefined ? { id } : {}), ...(retry !== undefined ? { retry } : {}) } : undefined;
    event = '';
    data = [];
    retry = undefined;
    return result;
  };
  const feed = function* (line: string): Generator<ParsedSSE> {
    if (line === '') {
      const message = dispatch();
      if (message) yield message;
      return;
    }
    if (line.startsWith(':')) return;
    const [field, value] = sseField(line);
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
    else if (field === 'id' && !value.includes('\0')) id = value;
    else if (field === 'retry' && /^\d+$/.test(value)) retry = Number(value);
  };
  // Where the search for a line end resumes: the text before it has none. A line
  // longer than a chunk (a 64 KB delta) would otherwise be scanned again at every chunk.
  let scanFrom = 0;
  for await (const chunk of body) {
    buffer += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    let start = 0;
    for (let i = scanFrom; i < buffer.length; i++) {
      const c = buffer.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      // A CR at the very end may be the first half of CRLF: wait for more input.
      if (c === 13 && i === buffer.length - 1) break;
      yield* feed(buffer.slice(start, i));
      if (c === 13 && buffer.charCodeAt(i + 1) === 10) i++;
      start = i + 1;
    }
    buffer = buffer.slice(start);
    // A CR held back at the end is looked at again with the next chunk.
    scanFrom = buffer.endsWith('\r') ? buffer.length - 1 : buffer.length;
  }
  buffer += decoder.decode();
  // A CR held back in case an LF followed ends its line after all.
  if (buffer.endsWith('\r')) yield* feed(buffer.slice(0, -1));
  // Anything else is an event cut off before its blank line: the connection
  // dropped mid-event, so it is discarded, as the SSE spec says.
}
