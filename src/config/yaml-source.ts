/**
 * Turns config YAML into plain data while remembering where every value came
 * from (for file:line:column errors) and interpolating `${VAR}` references.
 */
import { isAlias, isMap, isScalar, isSeq, LineCounter, parse as parseYamlValue, parseDocument, Scalar } from 'yaml';
import type { Document, Node } from 'yaml';
import type { ConfigIssue } from '../errors.ts';
import { interpolate, type SourcePosition, type UnsetVariable } from './interpolate.ts';

export type { SourcePosition } from './interpolate.ts';

/** Where a value and its key stand in the file, and how to name its path. */
export interface SourceEntry {
  value?: SourcePosition;
  key?: SourcePosition;
  /** Dotted path shown to users (patterns are shown by key, not index). */
  display: string;
}

/** Plain data of a config file, with the map from paths to positions. */
export interface ConfigSource {
  data: unknown;
  /** Keyed by {@link pathKey} of the data path. */
  entries: Map<string, SourceEntry>;
  /** `${VAR}` references that had no value and no default. */
  unset: UnsetVariable[];
  /** YAML syntax errors and malformed `${...}` references. */
  issues: ConfigIssue[];
  /** Environment values that `${VAR}` references put into the data, with where they went. */
  fromEnv: { path: DataPath; value: string }[];
}

export type DataPath = readonly (string | number)[];

/** The lookup key of a data path. */
export function pathKey(path: DataPath): string {
  return path.join('\u0000');
}

/** Patterns are the one mapping whose order is part of its meaning. */
function isPatternsPath(path: DataPath): boolean {
  return path.length === 5 && path[0] === 'providers' && path[2] === 'responses' && path[4] === 'patterns';
}

const COERCIBLE = /^(true|false|null|-?\d+(\.\d+)?)$/;

/**
 * How many times aliases may be expanded, weighted by the aliases inside what
 * they point at (the yaml package's `maxAliasCount`). A config repeats a
 * value by alias a handful of times; a "billion laughs" file nests aliases of
 * aliases and would expand into gigabytes.
 */
export const MAX_ALIAS_COUNT = 1_000;

/** Why the document's aliases expand too far, or undefined. The yaml package counts without expanding. */
function excessiveAliases(doc: Document.Parsed, text: string): string | undefined {
  // An alias is written `*name`: most configs have none and skip the count.
  if (!text.includes('*')) return undefined;
  try {
    doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    return undefined;
  } catch (error) {
    if (!(error instanceof ReferenceError)) throw error;
    return `YAML aliases (*name) expand more than ${MAX_ALIAS_COUNT} times, which looks like a resource-exhaustion attack ("billion laughs"). Write the values out, or use fewer aliases of aliases.`;
  }
}

/** Parses config YAML; never throws for bad input, problems land in `issues`. */
export function readConfigSource(text: string, env: NodeJS.ProcessEnv): ConfigSource {
  const lineCounter = new LineCounter();
  // Duplicate keys are found in the walk below: the yaml package's own check
  // compares each key with every earlier one (20,000 models took 10 s).
  const doc = parseDocument(text, { lineCounter, uniqueKeys: false, prettyErrors: false });
  const source: ConfigSource = { data: undefined, entries: new Map(), unset: [], issues: [], fromEnv: [] };
  const positionOf = (offset: number | undefined): SourcePosition | undefined => {
    if (offset === undefined) return undefined;
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };

  for (const error of doc.errors) {
    const pos = positionOf(error.pos[0]);
    source.issues.push({ path: '', message: `invalid YAML: ${error.message.split('\n')[0]}`, ...pos });
  }
  if (doc.errors.length > 0) return source;
  const aliasProblem = excessiveAliases(doc, text);
  if (aliasProblem) {
    source.issues.push({ path: '', message: aliasProblem });
    return source;
  }

  const walk = (node: Node | null | undefined, path: (string | number)[], display: string): unknown => {
    const entry = source.entries.get(pathKey(path)) ?? { display };
    entry.value = positionOf(node?.range?.[0]);
    source.entries.set(pathKey(path), entry);
    if (node == null) return null;
    if (isAlias(node)) return walk(node.resolve(doc as Document) as Node | undefined, path, display);
    if (isScalar(node)) return scalarValue(node, path, display, entry);
    if (isSeq(node)) return node.items.map((item, i) => walk(item as Node, [...path, i], `${display}[${i}]`));
    if (isMap(node)) {
      const ordered = isPatternsPath(path);
      const out: Record<string, unknown> = {};
      const pairs: [string, unknown][] = [];
      const seen = new Set<string>();
      node.items.forEach((pair, i) => {
        const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        const childDisplay = display ? `${display}.${key}` : key;
        const childPath = ordered ? [...path, i, 1] : [...path, key];
        const keyPos = positionOf((pair.key as Node | null)?.range?.[0]);
        if (seen.has(key)) {
          source.issues.push({ path: childDisplay, message: `duplicate key "${key}": map keys must be unique. Remove or rename one of them.`, ...keyPos });
          return;
        }
        seen.add(key);
        source.entries.set(pathKey(childPath), { key: keyPos, display: childDisplay });
        if (ordered) source.entries.set(pathKey([...path, i, 0]), { key: keyPos, value: keyPos, display: childDisplay });
        const value = walk(pair.value as Node | null, childPath, childDisplay);
        if (ordered) pairs.push([key, value]);
        else if (value !== undefined) out[key] = value;
      });
      return ordered ? pairs : out;
    }
    return null;
  };

  const scalarValue = (node: Scalar, path: (string | number)[], display: string, entry: SourceEntry): unknown => {
    if (typeof node.value !== 'string') return node.value;
    const result = interpolate(node.value);
    if (result.error) {
      source.issues.push({ path: display, message: result.error, ...entry.value });
      return undefined;
    }
    // Rendered even without variables: `$${` escapes still become `${`.
    if (result.variables.length === 0) return result.render(env).text;
    const resolved = result.render(env);
    if (resolved.unset.length > 0) {
      for (const variable of resolved.unset) source.unset.push({ path: [...path], display, variable, position: entry.value });
      return undefined;
    }
    for (const value of resolved.values) source.fromEnv.push({ path: [...path], value });
    // `port: ${PORT:-8000}` should be the number 8000, as if written literally;
    // quoted scalars stay strings, as YAML would have them.
    if (node.type === Scalar.PLAIN && result.whole && COERCIBLE.test(resolved.text)) return parseYamlValue(resolved.text);
    return resolved.text;
  };

  source.data = walk(doc.contents as Node | null, [], '');
  return source;
}
