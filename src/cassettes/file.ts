/**
 * Cassette files: one YAML file per scenario under the cassette directory,
 * written atomically, read back with a check of their shape.
 */
import { readFileSync } from 'node:fs';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { parse, stringify } from 'yaml';
import { z } from 'zod';
import { TokenPakError } from '../errors.ts';
import { CASSETTE_VERSION, type CassetteFile } from './types.ts';

/** The file suffix of cassettes. */
export const CASSETTE_SUFFIX = '.cassette.yaml';

const eventSchema = z.strictObject({
  at: z.number().min(0),
  event: z.string().optional(),
  data: z.string(),
  raw: z.string().optional(),
});

const interactionSchema = z.strictObject({
  provider: z.string(),
  origin: z.string(),
  recorded_at: z.string(),
  request: z.strictObject({ method: z.string(), path: z.string(), body: z.unknown() }),
  response: z.strictObject({
    status: z.int().min(100).max(599),
    headers: z.record(z.string(), z.string()),
    body: z.string().optional(),
    events: z.array(eventSchema).optional(),
    headers_ms: z.number().min(0).optional(),
    duration_ms: z.number().min(0),
    cut: z.boolean().optional(),
  }),
});

const fileSchema = z.strictObject({
  version: z.literal(CASSETTE_VERSION, { error: `must be ${CASSETTE_VERSION} (this TokenPak reads cassette format ${CASSETTE_VERSION}; re-record the cassette)` }),
  name: z.string(),
  interactions: z.array(interactionSchema),
});

/**
 * The file of a scenario. Each `/`-separated part of the name becomes a
 * folder; characters that are unsafe in file names become `-`.
 */
export function cassettePath(dir: string, name: string): string {
  const parts = name
    .split('/')
    .map((part) => part.trim().replace(/[^\w.@ -]+/g, '-').replace(/\s+/g, '-').replace(/^\.+/, '').slice(0, 120))
    .filter((part) => part !== '');
  return join(dir, ...(parts.length > 0 ? parts : ['default'])) + CASSETTE_SUFFIX;
}

/**
 * Reads a cassette, or undefined when the file does not exist. Synchronous:
 * a replay reads each scenario once, when its first request arrives.
 */
export function readCassette(path: string): CassetteFile | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new TokenPakError('cassette_invalid', `Cannot read cassette ${path}: ${(error as Error).message}.`, { cause: error });
  }
  let raw: unknown;
  try {
    raw = parse(text, { maxAliasCount: 100 });
  } catch (error) {
    throw new TokenPakError('cassette_invalid', `Cassette ${path} is not valid YAML (${(error as Error).message}). Fix it, or delete it and record it again.`, { cause: error });
  }
  const result = fileSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new TokenPakError('cassette_invalid', `Cassette ${path}: ${issue.path.join('.') || '(top level)'} ${issue.message}. Fix it, or delete it and record it again.`);
  }
  return result.data as CassetteFile;
}

/** Writes a cassette atomically (a reader never sees half a file). */
export async function writeCassette(path: string, cassette: CassetteFile): Promise<void> {
  const text =
    `# TokenPak cassette (format ${CASSETTE_VERSION}): provider traffic recorded for "${cassette.name}".\n` +
    '# Secrets are removed when recording. Review it like code; record it again rather than editing answers.\n' +
    stringify(cassette, { lineWidth: 0, aliasDuplicateObjects: false });
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, text);
  await rename(temporary, path);
}

/** Deletes a cassette file. */
export async function deleteCassette(path: string): Promise<void> {
  await rm(path, { force: true });
}

/** Every cassette file under `dir`, as paths relative to it, sorted. */
export async function listCassetteFiles(dir: string): Promise<string[]> {
  let entries: string[];
  try {
    entries = (await readdir(dir, { recursive: true })) as string[];
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return entries
    .filter((entry) => entry.endsWith(CASSETTE_SUFFIX))
    .map((entry) => relative(dir, join(dir, entry)).split(sep).join('/'))
    .sort();
}

/** The file, beside the cassettes, that remembers when each scenario last answered a request. */
export const USAGE_FILE = '.tokenpak-usage.json';

/** When each scenario under `dir` last answered a request (ISO 8601), as far as replays have said. */
export function readUsage(dir: string): Record<string, string> {
  try {
    const parsed = JSON.parse(readFileSync(join(dir, USAGE_FILE), 'utf8')) as unknown;
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, string>) : {};
  } catch {
    return {};
  }
}

/** Notes that these scenarios answered requests now. */
export async function markUsed(dir: string, names: readonly string[]): Promise<void> {
  if (names.length === 0) return;
  const usage = readUsage(dir);
  const now = new Date().toISOString();
  for (const name of names) usage[name] = now;
  await mkdir(dir, { recursive: true });
  const temporary = join(dir, `${USAGE_FILE}.${process.pid}.tmp`);
  await writeFile(temporary, `${JSON.stringify(usage, null, 2)}\n`);
  await rename(temporary, join(dir, USAGE_FILE));
}
