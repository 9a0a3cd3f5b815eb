/**
 * Cost of a call in US cents, from a price table in cents per million tokens.
 *
 * Lookup rule for a model name (the upstream model name of the attempt), first
 * match wins, and at each step the config's `pricing:` beats the built-in table:
 * 1. the name as given (`gpt-4o-2024-05-13`);
 * 2. without a routing prefix such as OpenRouter's `openai/` or `anthropic/`;
 * 3. without a trailing date or `-latest` (`gpt-4-0613` → `gpt-4`,
 *    `claude-3-5-sonnet-20241022` → `claude-3-5-sonnet`,
 *    `claude-3-opus-latest` → `claude-3-opus`).
 * A name with no match has no known price: its cost is `null`, and
 * `tokenpak validate-config` warns about every route that can reach it.
 */
import type { Usage } from '../canonical/types.ts';

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
export type Pricer = (providerType: string, model: string, usage: Usage) => number | null;

/** A pricer over the built-in table with `overrides` (the config's `pricing:`) on top. */
export function createPricer(overrides: PriceTable = {}, builtIn: PriceTable = BUILT_IN_PRICES): Pricer {
  const cache = new Map<string, ModelPrice | null>();
  return (providerType, model, usage) => {
    if (providerType === 'mock') return 0;
    let price = cache.get(model);
    if (price === undefined) {
      price = findPrice(model, overrides, builtIn);
      cache.set(model, price);
    }
    return price ? costCents(price, usage) : null;
  };
}

/** The price of a model by the lookup rule above, or `null` when it is unknown. */
export function findPrice(model: string, overrides: PriceTable = {}, builtIn: PriceTable = BUILT_IN_PRICES): ModelPrice | null {
  for (const name of candidateNames(model)) {
    const price = own(overrides, name) ?? own(builtIn, name);
    if (price) return price;
  }
  return null;
}

function own(table: PriceTable, name: string): ModelPrice | undefined {
  return Object.hasOwn(table, name) ? table[name] : undefined;
}

// -2024-08-06, -20241022, -0613 (OpenAI's old MMDD snapshots), -latest.
const SNAPSHOT_SUFFIX = /-(?:\d{4}-\d{2}-\d{2}|\d{8}|\d{4}|latest)$/;

function candidateNames(model: string): string[] {
  const names = [model];
  const unprefixed = model.replace(/^[\w.-]+\//, '');
  if (unprefixed !== model) names.push(unprefixed);
  const base = unprefixed.replace(SNAPSHOT_SUFFIX, '');
  if (base !== unprefixed && base.length > 0) names.push(base);
  return names;
}

/** Cents for this usage at this price, rounded to 6 decimals (a millionth of a cent). */
export function costCents(price: ModelPrice, usage: Usage): number {
  const cached = Math.min(usage.cachedInputTokens ?? 0, usage.inputTokens);
  const fresh = usage.inputTokens - cached;
  const cents = (fresh * price.input + cached * (price.cached_input ?? price.input) + usage.outputTokens * price.output) / 1_000_000;
  return Math.round(cents * 1e6) / 1e6;
}

const p = (input: number, output: number, cachedInput?: number): ModelPrice =>
  cachedInput === undefined ? { input, output } : { input, output, cached_input: cachedInput };

/**
 * Built-in prices in US cents per million tokens (input, output, cached
 * input), from OpenAI's and Anthropic's public price lists (standard tier,
 * as of autumn 2026). Dated snapshots share their family's entry through the
 * lookup rule unless listed here with a different price. Anthropic's cache
 * writes are billed as plain input (they cost 1.25× input upstream). Models
 * priced by prompt length (Claude Haiku 5.5), batch and priority tiers are
 * not modelled. Override or add entries with `pricing:` in the config.
 */
export const BUILT_IN_PRICES: PriceTable = {
  // OpenAI: GPT-5 family
  'gpt-5.5': p(500, 3000, 50),
  'gpt-5.4': p(250, 1500, 25),
  'gpt-5.4-mini': p(75, 450, 7.5),
  'gpt-5.1': p(125, 1000, 12.5),
  'gpt-5': p(125, 1000, 12.5),
  'gpt-5-chat-latest': p(125, 1000, 12.5),
  'gpt-5-mini': p(25, 200, 2.5),
  'gpt-5-nano': p(5, 40, 0.5),
  // GPT-4.1 family
  'gpt-4.1': p(200, 800, 50),
  'gpt-4.1-mini': p(40, 160, 10),
  'gpt-4.1-nano': p(10, 40, 2.5),
  'gpt-4.5-preview': p(7500, 15000, 3750),
  // GPT-4o family
  'gpt-4o': p(250, 1000, 125),
  'gpt-4o-2024-05-13': p(500, 1500),
  'chatgpt-4o-latest': p(500, 1500),
  'gpt-4o-mini': p(15, 60, 7.5),
  // o-series reasoning models
  o1: p(1500, 6000, 750),
  'o1-preview': p(1500, 6000, 750),
  'o1-mini': p(110, 440, 55),
  'o1-pro': p(15000, 60000),
  o3: p(200, 800, 50),
  'o3-pro': p(2000, 8000),
  'o3-mini': p(110, 440, 55),
  'o4-mini': p(110, 440, 27.5),
  // Legacy GPT-4 and GPT-3.5
  'gpt-4-turbo': p(1000, 3000),
  'gpt-4-turbo-preview': p(1000, 3000),
  'gpt-4-0125-preview': p(1000, 3000),
  'gpt-4-1106-preview': p(1000, 3000),
  'gpt-4-vision-preview': p(1000, 3000),
  'gpt-4': p(3000, 6000),
  'gpt-4-32k': p(6000, 12000),
  'gpt-3.5-turbo': p(50, 150),
  'gpt-3.5-turbo-1106': p(100, 200),
  'gpt-3.5-turbo-0613': p(150, 200),
  'gpt-3.5-turbo-0301': p(150, 200),
  'gpt-3.5-turbo-16k': p(300, 400),
  'gpt-3.5-turbo-instruct': p(150, 200),

  // Embeddings (input only)
  'text-embedding-3-small': p(2, 0),
  'text-embedding-3-large': p(13, 0),
  'text-embedding-ada-002': p(10, 0),

  // Anthropic: Claude 5 family
  'claude-fable-5-1': p(1000, 5000),
  'claude-opus-5-5': p(400, 2000, 20),
  'claude-opus-5': p(500, 2500, 50),
  // Sonnet 5.5 cache reads were cut from 20 to 10 on 2026-10-07.
  'claude-sonnet-5-5': p(200, 1000, 10),
  'claude-sonnet-5': p(200, 1000, 20),
  // Claude 4 family
  'claude-opus-4-8': p(500, 2500, 50),
  'claude-opus-4-7': p(500, 2500, 50),
  'claude-opus-4-6': p(500, 2500, 50),
  'claude-sonnet-4-6': p(300, 1500, 30),
  'claude-opus-4-5': p(500, 2500, 50),
  'claude-opus-4-1': p(1500, 7500, 150),
  'claude-opus-4': p(1500, 7500, 150),
  'claude-opus-4-0': p(1500, 7500, 150),
  'claude-sonnet-4-5': p(300, 1500, 30),
  'claude-sonnet-4': p(300, 1500, 30),
  'claude-sonnet-4-0': p(300, 1500, 30),
  'claude-haiku-4-5': p(100, 500, 10),
  // Claude 3.x
  'claude-3-7-sonnet': p(300, 1500, 30),
  'claude-3-5-sonnet': p(300, 1500, 30),
  'claude-3-5-haiku': p(80, 400, 8),
  'claude-3-opus': p(1500, 7500, 150),
  // The recipe's name; Anthropic's id is claude-3-sonnet-20240229 (same entry by the lookup rule).
  'claude-3-sonnet': p(300, 1500, 30),
  'claude-3-haiku': p(25, 125, 3),
  // Legacy
  'claude-2.1': p(800, 2400),
  'claude-2.0': p(800, 2400),
  'claude-instant-1.2': p(80, 240),
};
