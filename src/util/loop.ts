/**
 * Loop detection. Every upstream request carries this process's random id; a
 * request that arrives with it came from this very process, through a
 * `base_url` (or `OPENAI_BASE_URL`, which SDK users also set to point their
 * apps at TokenPak) that leads back to TokenPak itself. Such a request is
 * refused at once instead of recursing. Chains of distinct TokenPak
 * processes have distinct ids and pass.
 */
import { randomUUID } from 'node:crypto';

/** Header naming the TokenPak process that sent an upstream request. */
export const LOOP_HEADER = 'x-tokenpak-instance';

/** This process's id. */
export const INSTANCE_ID = randomUUID();

/** Whether a request came from this process (a base_url pointing back at TokenPak). */
export function isOwnRequest(headers: { get(name: string): string | null }): boolean {
  return headers.get(LOOP_HEADER) === INSTANCE_ID;
}
