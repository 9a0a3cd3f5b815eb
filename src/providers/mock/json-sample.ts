/**
 * A deterministic value that satisfies a JSON Schema, for generated mock
 * answers to JSON-schema requests (structured outputs) and forced tool calls,
 * so that client code that validates the answer against its schema passes.
 * Covers the subset that structured-output schemas use: type, properties,
 * required, items, enum, const, anyOf/oneOf/allOf, $ref to $defs/definitions,
 * string formats and numeric/length bounds. `pattern` is not honoured.
 */
import { hash32 } from './random.ts';

type Schema = Record<string, unknown>;

const WORDS = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet', 'kilo', 'lima'];
const MAX_DEPTH = 8;

/** A value valid against `schema`; the same schema and seed always give the same value. */
export function sampleFromSchema(schema: unknown, seed = ''): unknown {
  const root = isSchema(schema) ? schema : {};
  return sample(root, root, seed, 'value', 0);
}

function isSchema(value: unknown): value is Schema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function resolveRef(root: Schema, ref: string): Schema {
  // Only local references (#/$defs/X, #/definitions/X, #) occur in structured-output schemas.
  if (!ref.startsWith('#')) return {};
  let node: unknown = root;
  for (const segment of ref.slice(1).split('/').filter(Boolean)) {
    if (!isSchema(node)) return {};
    node = node[segment.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return isSchema(node) ? node : {};
}

function sample(schema: Schema, root: Schema, seed: string, name: string, depth: number): unknown {
  if (typeof schema.$ref === 'string') {
    return depth >= MAX_DEPTH ? null : sample(resolveRef(root, schema.$ref), root, seed, name, depth + 1);
  }
  if ('const' in schema) return schema.const;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0];
  if ('default' in schema) return schema.default;
  for (const key of ['anyOf', 'oneOf'] as const) {
    const options = schema[key];
    if (Array.isArray(options) && options.length > 0) {
      // Prefer a non-null branch: a nullable field is more useful filled in.
      const chosen = options.find((o) => isSchema(o) && o.type !== 'null') ?? options[0];
      return sample(isSchema(chosen) ? chosen : {}, root, seed, name, depth + 1);
    }
  }
  if (Array.isArray(schema.allOf)) {
    const merged: Schema = { type: 'object', properties: {}, required: [] };
    for (const part of schema.allOf) {
      if (!isSchema(part)) continue;
      const resolved = typeof part.$ref === 'string' ? resolveRef(root, part.$ref) : part;
      Object.assign(merged.properties as Schema, resolved.properties);
      (merged.required as unknown[]).push(...(Array.isArray(resolved.required) ? resolved.required : []));
    }
    return sample(merged, root, seed, name, depth + 1);
  }

  let type = schema.type;
  if (Array.isArray(type)) type = type.find((t) => t !== 'null') ?? type[0];
  if (type === undefined) type = isSchema(schema.properties) ? 'object' : schema.items !== undefined ? 'array' : 'string';

  switch (type) {
    case 'object': {
      if (depth >= MAX_DEPTH) return {};
      const out: Record<string, unknown> = {};
      const properties = isSchema(schema.properties) ? schema.properties : {};
      for (const [key, property] of Object.entries(properties)) {
        out[key] = sample(isSchema(property) ? property : {}, root, `${seed}.${key}`, key, depth + 1);
      }
      return out;
    }
    case 'array': {
      if (depth >= MAX_DEPTH) return [];
      const items = isSchema(schema.items) ? schema.items : {};
      const min = typeof schema.minItems === 'number' ? schema.minItems : 1;
      const max = typeof schema.maxItems === 'number' ? schema.maxItems : Math.max(min, 2);
      const count = Math.min(Math.max(min, 1), max);
      return Array.from({ length: count }, (_, i) => sample(items, root, `${seed}[${i}]`, name, depth + 1));
    }
    case 'integer':
    case 'number': {
      const low = numberBound(schema.minimum, schema.exclusiveMinimum, 1);
      const high = numberBound(schema.maximum, schema.exclusiveMaximum, -1);
      let value = 1 + (hash32(`${seed}:${name}`) % 100);
      if (low !== undefined && value < low) value = Math.ceil(low);
      if (high !== undefined && value > high) value = Math.floor(high);
      return type === 'integer' ? Math.round(value) : value;
    }
    case 'boolean':
      return true;
    case 'null':
      return null;
    default:
      return sampleString(schema, seed, name);
  }
}

function numberBound(inclusive: unknown, exclusive: unknown, step: number): number | undefined {
  if (typeof exclusive === 'number') return exclusive + step;
  return typeof inclusive === 'number' ? inclusive : undefined;
}

function sampleString(schema: Schema, seed: string, name: string): string {
  switch (schema.format) {
    case 'date-time':
      return '2024-01-01T00:00:00Z';
    case 'date':
      return '2024-01-01';
    case 'time':
      return '00:00:00';
    case 'email':
      return 'mock@example.com';
    case 'uri':
    case 'url':
      return 'https://example.com/mock';
    case 'uuid':
      return '00000000-0000-4000-8000-000000000000';
  }
  let text = `mock ${name} ${WORDS[hash32(`${seed}:${name}`) % WORDS.length]}`;
  const min = typeof schema.minLength === 'number' ? schema.minLength : 0;
  const max = typeof schema.maxLength === 'number' ? schema.maxLength : Infinity;
  while (text.length < min) text += ' mock';
  return text.slice(0, max);
}
