/**
 * How deeply a JSON text nests, measured on the raw text before it is parsed.
 * `JSON.parse` itself spends seconds on a megabyte of `[[[[…`, and every
 * recursive walk after it (zod, `JSON.stringify`, schema samplers) would
 * overflow the stack, so a body is refused on its shape first. One linear pass
 * over the characters; brackets inside strings do not count.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;

/** True when `text` nests arrays and objects more than `maxDepth` levels deep. */
export function nestsDeeperThan(text: string, maxDepth: number): boolean {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      i = closingQuote(text, i + 1);
      if (i < 0) return false;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > maxDepth) return true;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
    }
  }
  return false;
}

/** Index of the quote that closes the string opened before `from`, or -1 (an unterminated string, for JSON.parse to report). */
function closingQuote(text: string, from: number): number {
  // indexOf runs natively: most of a large body is string content (prompts).
  for (let at = text.indexOf('"', from); at >= 0; at = text.indexOf('"', at + 1)) {
    let backslashes = 0;
    while (text.charCodeAt(at - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return at;
  }
  return -1;
}
