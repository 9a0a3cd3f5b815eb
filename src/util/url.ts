/** What of a service's URL (Redis, PostgreSQL) messages may show. */

/**
 * `host:port` of `url` (with `defaultPort` when none is written), never its
 * user or password; undefined when `url` is not a URL.
 */
export function hostPortOf(url: string, defaultPort: number): string | undefined {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || defaultPort}`;
  } catch {
    return undefined;
  }
}
