/**
 * The shape of an answer — which fields it has and of what type, which stream
 * events in which order — without its wording, for `tokenpak cassettes
 * verify`: a recorded answer and today's live one should differ in words,
 * not in shape.
 */
import type { RecordedEvent, RecordedResponse } from './types.ts';

/** A JSON value's shape: a type name, an array's element shape, or an object's field shapes. */
export type Shape = string | { '[]': Shape[] } | { [field: string]: Shape };

export function shapeOf(value: unknown): Shape {
  if (value === null) return 'null';
  if (Array.isArray(value)) {
    const shapes: Shape[] = [];
    for (const item of value) {
      const shape = shapeOf(item);
      if (!shapes.some((s) => JSON.stringify(s) === JSON.stringify(shape))) shapes.push(shape);
    }
    return { '[]': shapes };
  }
  if (typeof value === 'object') {
    const out: Record<string, Shape> = {};
    for (const key of Object.keys(value as object).sort()) out[key] = shapeOf((value as Record<string, unknown>)[key]);
    return out;
  }
  return typeof value;
}

/** Lines saying how shape `b` differs from `a` (`+` only in b, `-` only in a, `~` another type). */
export function diffShapes(a: Shape, b: Shape, path = '$'): string[] {
  if (typeof a === 'string' || typeof b === 'string') {
    return JSON.stringify(a) === JSON.stringify(b) ? [] : [`~ ${path}: ${describe(a)} → ${describe(b)}`];
  }
  if ('[]' in a && '[]' in b) {
    // Elements are compared field by field across all the element shapes seen.
    return diffShapes(mergeShapes(a['[]'] as Shape[]), mergeShapes(b['[]'] as Shape[]), `${path}[]`);
  }
  if ('[]' in a || '[]' in b) return [`~ ${path}: ${describe(a)} → ${describe(b)}`];
  const out: string[] = [];
  const objA = a as Record<string, Shape>;
  const objB = b as Record<string, Shape>;
  for (const key of new Set([...Object.keys(objA), ...Object.keys(objB)])) {
    const at = `${path}.${key}`;
    if (!(key in objB)) out.push(`- ${at} (${describe(objA[key]!)})`);
    else if (!(key in objA)) out.push(`+ ${at} (${describe(objB[key]!)})`);
    else out.push(...diffShapes(objA[key]!, objB[key]!, at));
  }
  return out;
}

/** One shape holding every field of the given ones (an empty list is an empty object). */
function mergeShapes(shapes: Shape[]): Shape {
  if (shapes.length === 0) return {};
  if (shapes.every((s) => typeof s === 'object' && !('[]' in s))) {
    const out: Record<string, Shape> = {};
    for (const shape of shapes as Array<Record<string, Shape>>) {
      for (const [key, value] of Object.entries(shape)) out[key] = key in out ? mergeShapes([out[key]!, value]) : value;
    }
    return out;
  }
  const names = [...new Set(shapes.map(describe))].sort();
  return names.length === 1 ? shapes[0]! : names.join(' | ');
}

function describe(shape: Shape): string {
  if (typeof shape === 'string') return shape;
  return '[]' in shape ? 'array' : 'object';
}

/** The type of a stream event: its `event:` name, else its JSON `type` or `object`, else `message`. */
export function eventType(event: RecordedEvent): string {
  if (event.data === '[DONE]') return '[DONE]';
  if (event.event !== undefined) return event.event;
  try {
    const data = JSON.parse(event.data) as { type?: unknown; object?: unknown };
    if (typeof data.type === 'string') return data.type;
    if (typeof data.object === 'string') return data.object;
  } catch {
    // Not JSON: a plain message.
  }
  return 'message';
}

/** How a live response's shape differs from a recorded one's: status, body fields, event types and each event type's fields. */
export function responseDrift(recorded: RecordedResponse, live: RecordedResponse): string[] {
  const out: string[] = [];
  if (recorded.status !== live.status) out.push(`~ status: ${recorded.status} → ${live.status}`);
  if ((recorded.events === undefined) !== (live.events === undefined)) {
    out.push(`~ body: ${recorded.events ? 'event stream' : 'JSON'} → ${live.events ? 'event stream' : 'JSON'}`);
    return out;
  }
  if (recorded.body !== undefined && live.body !== undefined) {
    out.push(...diffShapes(jsonShape(recorded.body), jsonShape(live.body)));
    return out;
  }
  const byType = (events: readonly RecordedEvent[]) => {
    const shapes = new Map<string, Shape[]>();
    for (const event of events) {
      const type = eventType(event);
      const list = shapes.get(type) ?? [];
      list.push(jsonShape(event.data));
      shapes.set(type, list);
    }
    return shapes;
  };
  const a = byType(recorded.events ?? []);
  const b = byType(live.events ?? []);
  for (const type of new Set([...a.keys(), ...b.keys()])) {
    if (!b.has(type)) out.push(`- event ${type}`);
    else if (!a.has(type)) out.push(`+ event ${type}`);
    else out.push(...diffShapes(mergeShapes(a.get(type)!), mergeShapes(b.get(type)!), `event ${type}`));
  }
  return out;
}

function jsonShape(text: string): Shape {
  try {
    return shapeOf(JSON.parse(text));
  } catch {
    return 'text';
  }
}
