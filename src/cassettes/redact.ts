/**
 * What never reaches a cassette: configured secrets (API keys, header values
 * taken from the environment) and whatever the user's redaction patterns
 * match. In a stream the patterns see text the way a reader does: the pieces
 * of one field across events joined (a key split over two text deltas is
 * still found), not event by event.
 */
import type { RecordedEvent } from './types.ts';

/** What replaces a redacted value. */
export const REDACTED = '[REDACTED]';

/** Compiled redaction rules. */
export interface Redactor {
  /** A string with every secret and pattern match replaced. */
  text(value: string): string;
  /** A JSON value with every string in it redacted (keys included). */
  value<T>(value: T): T;
  /** Events with secrets and matches removed, also where a match spans events. */
  events(events: readonly RecordedEvent[]): RecordedEvent[];
}

/** A pattern as written in the config: `/source/flags` is a regular expression, anything else a literal. */
export function compileRedaction(pattern: string): RegExp {
  const regex = /^\/(.+)\/([imsuv]*)$/s.exec(pattern);
  if (regex) return new RegExp(regex[1]!, `${regex[2]!}g`);
  return new RegExp(escapeRegExp(pattern), 'g');
}

export function createRedactor(secrets: readonly string[], patterns: readonly RegExp[]): Redactor {
  // Short values (a `true`, an empty default) would redact ordinary text; keys are long.
  const literal = [...new Set(secrets.filter((s) => s.length >= 6))].sort((a, b) => b.length - a.length);
  const rules = [...literal.map((s) => new RegExp(escapeRegExp(s), 'g')), ...patterns.map((p) => new RegExp(p.source, p.flags.includes('g') ? p.flags : `${p.flags}g`))];

  const ranges = (text: string): Array<[number, number]> => {
    const found: Array<[number, number]> = [];
    for (const rule of rules) {
      rule.lastIndex = 0;
      for (let m = rule.exec(text); m; m = rule.exec(text)) {
        if (m[0].length === 0) {
          rule.lastIndex++;
          continue;
        }
        found.push([m.index, m.index + m[0].length]);
      }
    }
    found.sort((a, b) => a[0] - b[0]);
    const merged: Array<[number, number]> = [];
    for (const range of found) {
      const last = merged.at(-1);
      if (last && range[0] <= last[1]) last[1] = Math.max(last[1], range[1]);
      else merged.push([...range]);
    }
    return merged;
  };

  const text = (value: string): string => {
    if (rules.length === 0) return value;
    let out = '';
    let from = 0;
    for (const [start, end] of ranges(value)) {
      out += value.slice(from, start) + REDACTED;
      from = end;
    }
    return out + value.slice(from);
  };

  const value = <T>(input: T): T => {
    if (typeof input === 'string') return text(input) as T;
    if (Array.isArray(input)) return input.map((item) => value(item)) as T;
    if (input && typeof input === 'object') {
      const out: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(input)) out[text(key)] = value(item);
      return out as T;
    }
    return input;
  };

  const events = (input: readonly RecordedEvent[]): RecordedEvent[] => {
    if (rules.length === 0) return input.map((e) => ({ ...e }));
    // Each event's data as JSON (or as one string), and its string leaves by path.
    interface Leaf {
      event: number;
      set: (text: string) => void;
      text: string;
      edits: Array<[number, number, string]>;
    }
    const parsed: unknown[] = [];
    const channels = new Map<string, Leaf[]>();
    const touched = new Set<number>();
    input.forEach((event, index) => {
      let data: unknown;
      try {
        data = JSON.parse(event.data);
      } catch {
        data = undefined;
      }
      const holder = { data: data === undefined ? event.data : data };
      parsed.push(holder);
      const walk = (container: Record<string, unknown> | unknown[], key: string | number, path: string) => {
        const item = (container as Record<string | number, unknown>)[key];
        if (typeof item === 'string') {
          const leaf: Leaf = { event: index, text: item, edits: [], set: (t) => ((container as Record<string | number, unknown>)[key] = t) };
          const channel = `${event.event ?? ''}\u0000${path}`;
          const list = channels.get(channel) ?? [];
          list.push(leaf);
          channels.set(channel, list);
        } else if (Array.isArray(item)) {
          item.forEach((_, i) => walk(item, i, `${path}[${i}]`));
        } else if (item && typeof item === 'object') {
          for (const k of Object.keys(item)) walk(item as Record<string, unknown>, k, `${path}.${k}`);
        }
      };
      walk(holder, 'data', '$');
    });
    for (const leaves of channels.values()) {
      const joined = leaves.map((l) => l.text).join('');
      const found = ranges(joined);
      if (found.length === 0) continue;
      let offset = 0;
      const spans = leaves.map((leaf) => {
        const span = [offset, offset + leaf.text.length] as const;
        offset += leaf.text.length;
        return span;
      });
      for (const [start, end] of found) {
        let replaced = false;
        leaves.forEach((leaf, i) => {
          const [from, to] = spans[i]!;
          const a = Math.max(start, from);
          const b = Math.min(end, to);
          // A match that ends exactly where a piece starts does not touch it.
          if (a >= b) return;
          leaf.edits.push([a - from, b - from, replaced ? '' : REDACTED]);
          replaced = true;
          touched.add(leaf.event);
        });
      }
      for (const leaf of leaves) {
        if (leaf.edits.length === 0) continue;
        let out = leaf.text;
        for (const [a, b, r] of [...leaf.edits].sort((x, y) => y[0] - x[0])) out = out.slice(0, a) + r + out.slice(b);
        leaf.set(out);
      }
    }
    return input.map((event, index) => {
      const copy: RecordedEvent = { ...event, ...(event.event !== undefined ? { event: text(event.event) } : {}) };
      if (touched.has(index)) {
        const data = (parsed[index] as { data: unknown }).data;
        copy.data = typeof data === 'string' ? data : JSON.stringify(data);
        delete copy.raw;
      }
      // Anything the JSON walk could not see (comments, ids, non-JSON data) still loses its secrets.
      copy.data = text(copy.data);
      if (copy.raw !== undefined) copy.raw = text(copy.raw);
      return copy;
    });
  };

  return { text, value, events };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
