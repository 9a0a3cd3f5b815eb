/**
 * The keys a strict object in the config schema accepts at a given path, read
 * from the zod schema itself so did-you-mean suggestions never drift from it.
 */
import type { z } from 'zod';

type AnySchema = z.core.$ZodType;

interface Def {
  type: string;
  innerType?: AnySchema;
  shape?: Record<string, AnySchema>;
  options?: AnySchema[];
  discriminator?: string;
  valueType?: AnySchema;
  element?: AnySchema;
  items?: AnySchema[];
  in?: AnySchema;
}

const defOf = (schema: AnySchema): Def => (schema as unknown as { _zod: { def: Def } })._zod.def;

const WRAPPERS = new Set(['optional', 'default', 'prefault', 'nullable', 'readonly', 'catch', 'nonoptional']);

function unwrap(schema: AnySchema): AnySchema {
  let current = schema;
  for (let def = defOf(current); WRAPPERS.has(def.type) || def.type === 'pipe'; def = defOf(current)) {
    current = def.type === 'pipe' ? def.in! : def.innerType!;
  }
  return current;
}

/** Object options of a schema (a union's object members, chosen by discriminator when it has one). */
function objectOptions(schema: AnySchema, data: unknown): AnySchema[] {
  const inner = unwrap(schema);
  const def = defOf(inner);
  if (def.type === 'object') return [inner];
  if (def.type !== 'union') return [];
  const members = def.options!.flatMap((option) => objectOptions(option, data));
  if (def.discriminator && data && typeof data === 'object') {
    const wanted = (data as Record<string, unknown>)[def.discriminator];
    const match = members.filter((member) => {
      const literal = defOf(unwrap(defOf(member).shape![def.discriminator!]!)) as Def & { values?: unknown[] };
      return literal.values?.includes(wanted);
    });
    if (match.length > 0) return match;
  }
  return members;
}

function child(schema: AnySchema, data: unknown, segment: string | number): AnySchema | undefined {
  const inner = unwrap(schema);
  const def = defOf(inner);
  switch (def.type) {
    case 'object':
      return def.shape![segment];
    case 'record':
      return def.valueType;
    case 'array':
      return def.element;
    case 'tuple':
      return def.items![Number(segment)];
    case 'union':
      for (const option of def.discriminator ? objectOptions(inner, data) : def.options!) {
        const found = child(option, data, segment);
        if (found) return found;
      }
      return undefined;
    default:
      return undefined;
  }
}

/** Keys accepted at `path` of `data` under `schema`; empty when not an object there. */
export function keysAt(schema: AnySchema, data: unknown, path: readonly PropertyKey[]): string[] {
  let current: AnySchema | undefined = schema;
  let value = data;
  for (const segment of path) {
    if (!current) return [];
    current = child(current, value, segment as string | number);
    value = value && typeof value === 'object' ? (value as Record<PropertyKey, unknown>)[segment] : undefined;
  }
  if (!current) return [];
  return [...new Set(objectOptions(current, value).flatMap((option) => Object.keys(defOf(option).shape!)))];
}
