/**
 * Cost of a call in US cents, from a price table in cents per million tokens.
 */
import type { Usage } from '../canonical/types.ts';
import type { ProviderType } from '../config/schema.ts';

/** Price of one model, in US cents per million tokens. */
export interface ModelPrice {
  input: number;
  output: number;
  /** Price of input tokens read from the prompt cache; defaults to `input`. */
  cached_input?: number | undefined;
}

/** Prices by upstream model name. */
export type PriceTable = Readonly<Record<string, ModelPrice>>;

/** Computes the cost of a call, or `null` when the model's price is unknown. */
export type Pricer = (providerType: ProviderType, model: string, usage: Usage) => number | null;

/** A pricer over the built-in table with `overrides` (the config's `pricing:`) on top. */
export function createPricer(overrides: PriceTable = {}, builtIn: PriceTable = BUILT_IN_PRICES): Pricer {
  return (providerType, model, usage) => {
    if (providerType === 'mock') return 0;
    const price = overrides[model] ?? builtIn[model];
    if (!price) return null;
    return costCents(price, usage);
  };
}

/** Cents for this usage at this price, rounded to 6 decimals (a millionth of a cent). */
export function costCents(price: ModelPrice, usage: Usage): number {
  const cached = Math.min(usage.cachedInputTokens ?? 0, usage.inputTokens);
  const fresh = usage.inputTokens - cached;
  const cents = (fresh * price.input + cached * (price.cached_input ?? price.input) + usage.outputTokens * price.output) / 1_000_000;
  return Math.round(cents * 1e6) / 1e6;
}

/**
 * Built-in prices (US cents per million tokens), from the providers' public
 * price lists. Extended with the real providers.
 */
export const BUILT_IN_PRICES: PriceTable = {};
