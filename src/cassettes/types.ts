/**
 * Cassettes: recorded exchanges between TokenPak and a real provider's API,
 * kept as reviewable YAML files and replayed in place of the API. One file
 * holds one scenario (a test, or a name the proxy's clients choose) and its
 * exchanges in the order they happened.
 */

/** The cassette format this TokenPak writes and reads. */
export const CASSETTE_VERSION = 1;

/** What to do with cassettes. */
export type CassetteMode =
  /** Call the API for every request and (re)write the cassettes. */
  | 'record'
  /** Never call the API: answer from the cassettes. */
  | 'replay'
  /** Answer from the cassettes where they have the request; call the API and record what is missing. */
  | 'auto'
  /** Cassettes are not used. */
  | 'off';

/** What a replay does with a request no cassette holds. */
export type MissPolicy =
  /** Answer with an error that shows the closest recorded request and how it differs. */
  | 'error'
  /** Let the route's next provider answer (with a mock as fallback, the mock). */
  | 'fallthrough'
  /** Call the API and add the exchange to the cassette (as `auto`). */
  | 'record';

/** How fast a replay plays recorded streams. */
export type ReplayTiming =
  /** Everything at once (the default in tests). */
  | 'instant'
  /** Each event at the offset it arrived when it was recorded. */
  | 'recorded'
  /** Offsets multiplied by a factor (0.5 plays twice as fast). */
  | { scale: number };

/** One server-sent event as received, with when it arrived. */
export interface RecordedEvent {
  /** Milliseconds from the start of the request to the arrival of the event. */
  at: number;
  /** The `event:` field, when the event had one. */
  event?: string;
  /** The `data:` field (several data lines joined with `\n`). */
  data: string;
  /**
   * The event's exact bytes, kept only when they are not what `event` and
   * `data` spell in the usual `event: …\ndata: …\n\n` form (comments, ids,
   * `data:` without a space, CRLF line ends).
   */
  raw?: string;
}

/** The request of an exchange, as sent to the API (normalised for matching). */
export interface RecordedRequest {
  method: string;
  /** Path on the API's host, for example `/v1/chat/completions`. */
  path: string;
  /** The JSON body sent upstream. */
  body: unknown;
}

/** The API's answer. */
export interface RecordedResponse {
  status: number;
  /** An allow-listed set of response headers (never cookies or anything that can identify an account). */
  headers: Record<string, string>;
  /** A non-stream body, exactly as received. */
  body?: string;
  /** A stream's events, exactly as received and in order. */
  events?: RecordedEvent[];
  /** Milliseconds from the start of the request to the response headers. */
  headers_ms?: number;
  /** Milliseconds from the start of the request to the end of the response. */
  duration_ms: number;
  /** The connection broke before the response ended (the recorded part is replayed, then the same break). */
  cut?: boolean;
}

/** One recorded exchange. */
export interface Interaction {
  /** Configured provider name at recording time. */
  provider: string;
  /** The API's host, without credentials. */
  origin: string;
  /** When it was recorded (ISO 8601). */
  recorded_at: string;
  request: RecordedRequest;
  response: RecordedResponse;
}

/** A cassette file's contents. */
export interface CassetteFile {
  /** The format version, {@link CASSETTE_VERSION}. */
  version: number;
  /** The scenario name the file was recorded for. */
  name: string;
  interactions: Interaction[];
}

/**
 * The bytes of an answer being replayed from a cassette, so that a client of
 * the API it was recorded from gets them unchanged.
 */
export interface WireReplay {
  /** Configured name of the provider whose exchange is replayed. */
  provider: string;
  /** The client wire format these bytes are in (`openai-chat`, `anthropic-messages`). */
  format: string;
  status: number;
  headers: Record<string, string>;
  /** A non-stream body. */
  body?: string;
  /** A stream's events with their replay offsets (already scaled by the timing setting), from {@link startedAt}. */
  events?: Array<{ at: number; bytes: string }>;
  /** `performance.now()` when the replay of this answer began. */
  startedAt: number;
  /** The recorded stream broke off after its events. */
  cut?: boolean;
}

/** What the HTTP app needs of cassettes. */
export interface AppCassettes {
  /** Ties a request to a scenario (its `x-tokenpak-cassette` header, or the default). */
  bind(requestId: string, name: string | undefined): void;
  /** The request is over. */
  release(requestId: string): void;
  /** The recorded bytes of the answer being replayed for a request, if any (once). */
  takeWire(requestId: string): WireReplay | undefined;
}
