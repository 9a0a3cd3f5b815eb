/**
 * Whether a config uses cassettes, without loading them: the proxy's start
 * pays for the recorder (undici, the YAML writer) only when it is used.
 */
import type { Config } from '../config/load.ts';
import type { CassetteMode, ReplayTiming } from './types.ts';

/** Command-line choices that override the config's `cassettes:` (`--record DIR`, `--replay DIR`). */
export interface CassetteOverrides {
  mode?: Exclude<CassetteMode, 'off'>;
  dir?: string;
  timing?: ReplayTiming;
}

/** True when any provider records or replays. */
export function cassettesEnabled(config: Config, overrides: CassetteOverrides = {}): boolean {
  if (overrides.mode) return true;
  if (config.cassettes.mode !== 'off') return true;
  return Object.values(config.providers).some((p) => p.enabled && p.type !== 'mock' && p.type !== 'custom' && p.cassettes && p.cassettes.mode !== 'off');
}

