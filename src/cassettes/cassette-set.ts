/**
 * The cassettes of one running TokenPak: which scenario each request belongs
 * to, the recorded exchanges that answer it (in order for repeated identical
 * requests), what was recorded this run, and which recordings were used.
 */
import { TokenPakError } from '../errors.ts';
import { cassettePath, readCassette, writeCassette } from './file.ts';
import { DEFAULT_IGNORED_FIELDS, diffBodies, distance, endpointOf, normalizeBody, requestKey } from './match.ts';
import type { Redactor } from './redact.ts';
import { CASSETTE_VERSION, type CassetteFile, type CassetteMode, type Interaction, type MissPolicy, type ReplayTiming, type WireReplay } from './types.ts';

export interface CassetteSetOptions {
  /** Folder the cassette files live in. */
  dir: string;
  mode: Exclude<CassetteMode, 'off'>;
  /** For `replay`: what a request with no recording gets (default `error`). */
  onMiss?: MissPolicy;
  /** Replay speed (default `instant`). */
  timing?: ReplayTiming;
  /** Request fields left out of matching (default {@link DEFAULT_IGNORED_FIELDS}). */
  ignore?: readonly string[];
  /** Removes secrets before anything is written. */
  redactor: Redactor;
  /** The scenario of requests that name none (default `default`). */
  defaultName?: string;
}

/** A recorded exchange chosen for a request. */
export interface Hit {
  cassette: string;
  index: number;
  interaction: Interaction;
}

interface Loaded {
  file: CassetteFile;
  /** Interactions by request key, in file order. */
  byKey: Map<string, number[]>;
  /** How many times each key has been answered this run. */
  turns: Map<string, number>;
  used: Set<number>;
}

export interface CassetteSet {
  readonly dir: string;
  readonly mode: Exclude<CassetteMode, 'off'>;
  readonly onMiss: MissPolicy;
  readonly timing: ReplayTiming;
  /** Ties a request id to a scenario until {@link release}. */
  bind(requestId: string, name: string | undefined): void;
  release(requestId: string): void;
  /** The scenario of a request id (the default one when unbound). */
  nameFor(requestId: string | undefined): string;
  /** The normalised form of a request body as matching (and the cassette) sees it. */
  normalize(body: unknown): unknown;
  /** The recorded exchange for a request, or a `cassette_miss` error that shows the closest one. */
  find(name: string, method: string, path: string, body: unknown): Hit | TokenPakError;
  /** Adds an exchange recorded this run (secrets already removed by the caller). */
  add(name: string, interaction: Interaction): Promise<void>;
  /** Remembers the bytes replayed for a request, for a client of the same wire format. */
  setWire(requestId: string, wire: WireReplay): void;
  /** The bytes replayed for a request (once). */
  takeWire(requestId: string): WireReplay | undefined;
  /**
   * Starts a scenario afresh: its recordings are read again (in `record`, it
   * starts empty), and repeated requests take them from the first again.
   */
  restart(name: string): void;
  /** Scenarios used this run, with the indexes of their exchanges that answered. */
  usage(): Promise<Map<string, { used: number[]; total: number }>>;
  /** Writes what is pending. */
  flush(): Promise<void>;
  readonly redactor: Redactor;
}

// Requests in flight are bound to their scenario; this bounds the map if a caller forgets to release.
const MAX_BOUND = 10_000;

export function createCassetteSet(options: CassetteSetOptions): CassetteSet {
  const { dir, mode, redactor } = options;
  const ignore = options.ignore ?? DEFAULT_IGNORED_FIELDS;
  const defaultName = options.defaultName ?? 'default';
  const bound = new Map<string, string>();
  const wires = new Map<string, WireReplay>();
  const loaded = new Map<string, Loaded>();
  let writes: Promise<unknown> = Promise.resolve();

  const normalize = (body: unknown) => normalizeBody(redactor.value(body), ignore);
  const keyOf = (interaction: Interaction) =>
    requestKey(interaction.request.method, interaction.request.path, normalizeBody(interaction.request.body, ignore));

  const load = (name: string): Loaded => {
    let state = loaded.get(name);
    if (!state) {
      // `record` starts each scenario afresh, so what is on disk does not matter to it.
      const file = (mode === 'record' ? undefined : readCassette(cassettePath(dir, name))) ?? { version: CASSETTE_VERSION, name, interactions: [] };
      state = { file, byKey: new Map(), turns: new Map(), used: new Set() };
      for (const [index, interaction] of file.interactions.entries()) indexInteraction(state, keyOf(interaction), index);
      loaded.set(name, state);
    }
    return state;
  };

  const save = (name: string, state: Loaded) => {
    // One write at a time, in order: the last write holds every interaction.
    writes = writes.then(() => writeCassette(cassettePath(dir, name), state.file));
    return writes;
  };

  return {
    dir,
    mode,
    onMiss: options.onMiss ?? 'error',
    timing: options.timing ?? 'instant',
    redactor,

    bind(requestId, name) {
      if (bound.size >= MAX_BOUND) bound.delete(bound.keys().next().value!);
      bound.set(requestId, name?.trim() || defaultName);
    },
    release(requestId) {
      bound.delete(requestId);
      wires.delete(requestId);
    },
    nameFor(requestId) {
      return (requestId !== undefined ? bound.get(requestId) : undefined) ?? defaultName;
    },
    normalize,

    find(name, method, path, body) {
      const state = load(name);
      const cleanPath = endpointOf(path);
      const normalized = normalize(body);
      const key = requestKey(method, cleanPath, normalized);
      const indexes = state.byKey.get(key);
      if (indexes && indexes.length > 0) {
        const turn = state.turns.get(key) ?? 0;
        state.turns.set(key, turn + 1);
        // The nth identical request gets the nth recording; past the last, the last one again.
        const index = indexes[Math.min(turn, indexes.length - 1)]!;
        state.used.add(index);
        return { cassette: name, index, interaction: state.file.interactions[index]! };
      }
      const file = cassettePath(dir, name);
      const candidates = state.file.interactions.filter((i) => i.request.method === method && endpointOf(i.request.path) === cleanPath);
      if (candidates.length === 0) {
        const others = state.file.interactions.length;
        return new TokenPakError(
          'cassette_miss',
          `No recorded answer for ${method} ${cleanPath} in cassette "${name}" (${file}: ${others === 0 ? 'no such cassette, or it is empty' : `${others} other exchange${others === 1 ? '' : 's'}`}). Record it (tokenpak proxy --record, or cassettes mode record/auto), or use the scenario it was recorded under.`,
          { status: 404 },
        );
      }
      let best = candidates[0]!;
      let bestDistance = Infinity;
      for (const candidate of candidates) {
        const d = distance(normalizeBody(candidate.request.body, ignore), normalized);
        if (d < bestDistance) {
          best = candidate;
          bestDistance = d;
        }
      }
      const diff = diffBodies(normalizeBody(best.request.body, ignore), normalized);
      return new TokenPakError(
        'cassette_miss',
        `No recorded answer for this ${method} ${cleanPath} in cassette "${name}" (${file}). The closest recorded request (exchange ${state.file.interactions.indexOf(best) + 1} of ${state.file.interactions.length}) differs in:\n${diff.join('\n')}\nRecord it again if the request changed on purpose, or list volatile fields under cassettes.ignore.`,
        { status: 404 },
      );
    },

    async add(name, interaction) {
      const state = load(name);
      const index = state.file.interactions.push(interaction) - 1;
      indexInteraction(state, keyOf(interaction), index);
      state.used.add(index);
      // A replay in this run of the same request must reach this new exchange, not an older one.
      const key = keyOf(interaction);
      state.turns.set(key, state.byKey.get(key)!.length);
      await save(name, state);
    },

    restart(name) {
      loaded.delete(name);
    },

    setWire(requestId, wire) {
      wires.set(requestId, wire);
    },
    takeWire(requestId) {
      const wire = wires.get(requestId);
      wires.delete(requestId);
      return wire;
    },

    async usage() {
      const out = new Map<string, { used: number[]; total: number }>();
      for (const [name, state] of loaded) out.set(name, { used: [...state.used].sort((a, b) => a - b), total: state.file.interactions.length });
      return out;
    },

    async flush() {
      await writes;
    },
  };
}

function indexInteraction(state: Loaded, key: string, index: number): void {
  const list = state.byKey.get(key);
  if (list) list.push(index);
  else state.byKey.set(key, [index]);
}
