/**
 * Mock pattern keys as written in the config: `/source/flags` is a regular
 * expression, anything else a case-insensitive keyword. The syntax belongs to
 * the config, so that loading a config validates keys without the mock.
 */

/** A `/source/flags` key; group 1 is the source, group 2 the flags. */
export const REGEX_KEY = /^\/(.+)\/([dgimsuvy]*)$/s;

/** Validates a `/regex/` key, returning the error text if it does not compile. */
export function patternKeyError(key: string): string | undefined {
  const regex = REGEX_KEY.exec(key);
  if (!regex) return undefined;
  try {
    new RegExp(regex[1]!, regex[2]);
    return undefined;
  } catch (error) {
    return `is not a valid regular expression: ${(error as Error).message}. Write a plain keyword, or fix the expression.`;
  }
}
