/**
 * Default cassette names: the test file's path (from the project root,
 * without its extension) and the test's describe blocks and title, one folder
 * each, in characters every file system takes. Light on purpose: the test's
 * process computes them as each test starts.
 */
import { createHash } from 'node:crypto';
import { relative } from 'node:path';

const MAX_PART = 100;

/**
 * One part of a name, readable and file-system safe: letters, digits and
 * `._@-` kept, any other run of characters made one `-`. A part that had to
 * be cut (or had nothing left) ends with a hash of the original, so that it
 * stays distinct.
 */
export function namePart(text: string): string {
  const safe = text
    .trim()
    .replace(/[^A-Za-z0-9._@-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^[-.]+|-+$/g, '');
  if (safe !== '' && safe.length <= MAX_PART) return safe;
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 8);
  return safe === '' ? hash : `${safe.slice(0, MAX_PART - 9).replace(/-+$/, '')}-${hash}`;
}

/** The file's part of its tests' names: `test/chat.test` for `<root>/test/chat.test.ts`. */
export function fileCassetteName(root: string, file: string): string {
  const path = relative(root, file).split(/[\\/]/).filter((p) => p !== '' && p !== '..' && p !== '.');
  const last = path.pop() ?? 'file';
  path.push(last.replace(/\.[cm]?[jt]sx?$/, ''));
  return path.map(namePart).join('/');
}

/** A test's default cassette name: its file's, then each describe block's and its own title. */
export function testCassetteName(root: string, file: string, titles: readonly string[]): string {
  return [fileCassetteName(root, file), ...titles.map(namePart)].join('/');
}
