/**
 * Run-time checks of the mock's controls (`configure`, `setPatterns`,
 * `setDefault`, `failNext`, and what answer functions return), against the
 * config file's own zod schemas: a test cannot give the mock at run time what
 * a config file could not. Tests are not type-checked when Vitest runs them,
 * so a misspelt key or an out-of-range value must fail here, loudly, rather
 * than be silently ignored.
 */
import { z } from 'zod';
import { answerErrorSchema, answerObjectSchema, mockProviderSchema, ruleSchema } from '../../config/schema.ts';
import { keysAt } from '../../config/schema-keys.ts';
import { TokenPakError } from '../../errors.ts';
import { closest, didYouMean } from '../../util/did-you-mean.ts';
import { patternKeyError } from '../../config/pattern-key.ts';
import type { MockRuleInput } from './rules.ts';

type AnySchema = z.core.$ZodType;

/** The settings `configure()` accepts; the rest of a mock's config is fixed once loaded. */
export const RUNTIME_SETTING_KEYS = [
  'latency_ms',
  'chunk_delay_ms',
  'failure_rate',
  'failure',
  'seed',
  'disconnect_after_chunks',
  'timeout_ms',
  'retry_after',
  'on_unmatched',
] as const;
export type RuntimeSettingKey = (typeof RUNTIME_SETTING_KEYS)[number];

const runtimeSettingsSchema = mockProviderSchema.pick(Object.fromEntries(RUNTIME_SETTING_KEYS.map((key) => [key, true])) as { [K in RuntimeSettingKey]: true }).partial();

/** Config keys that exist, but not as run-time settings: what to use instead. */
const CONFIG_ONLY: Record<string, string> = {
  responses: 'use setRules(model, rules), setPatterns(model, patterns) and setDefault(model, answers)',
  type: 'a mock stays a mock',
  enabled: 'a mock is enabled or not in the config',
  base_url: 'a mock has no upstream',
  headers: 'a mock has no upstream',
};

const setPatternsOptionsSchema = z.strictObject({
  /** Drop the model's existing patterns instead of trying the new ones first. */
  replace: z.boolean().optional(),
});

/** A mistake in a call of a mock's run-time control; the message names it and the fix. */
export function controlError(mock: string, call: string, problems: readonly string[]): TokenPakError {
  const head = `Mock provider "${mock}": ${call}`;
  const message = problems.length === 1 ? `${head}: ${problems[0]}` : `${head}: ${problems.length} problems:\n  ${problems.join('\n  ')}`;
  return new TokenPakError('config_invalid', message, { status: 500 });
}

function shown(value: unknown): string {
  if (typeof value === 'function') return 'a function';
  if (value instanceof RegExp) return String(value);
  try {
    const text = JSON.stringify(value);
    if (text === undefined) return String(value);
    return text.length > 60 ? `${text.slice(0, 59)}…` : text;
  } catch {
    return String(value);
  }
}

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let current = value;
  for (const segment of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[segment];
  }
  return current;
}

function wantsNumber(issue: z.core.$ZodIssue): boolean {
  if (issue.code === 'invalid_type') return issue.expected === 'number' || issue.expected === 'int';
  if (issue.code === 'invalid_union') return issue.errors.some((branch) => branch.some(wantsNumber));
  return false;
}

/**
 * What is wrong, one line per problem, in the words of the config checks:
 * unknown keys with a did-you-mean and the keys allowed there, the value that
 * was given, and a number given as a string.
 */
export function describeIssues(schema: AnySchema, value: unknown, issues: readonly z.core.$ZodIssue[], where = ''): string[] {
  const at = (path: readonly PropertyKey[]) => [where, ...path.map(String)].filter(Boolean).join('.');
  const unknownAt = new Set(issues.filter((i) => i.code === 'unrecognized_keys').map((i) => at(i.path)));
  const lines: string[] = [];
  for (const issue of issues) {
    const path = issue.path;
    const name = at(path);
    const prefix = name ? `${name}: ` : '';
    if (issue.code === 'unrecognized_keys') {
      const known = keysAt(schema, value, path);
      for (const key of issue.keys) {
        lines.push(`${at([...path, key])}: unknown key.${didYouMean(key, known)}${known.length ? ` Known keys here: ${known.join(', ')}.` : ''}`);
      }
      continue;
    }
    // "needs exactly one of text, …" adds nothing when the cause is a misspelt key there.
    if (issue.code === 'custom' && unknownAt.has(name)) continue;
    const given = valueAt(value, path);
    if (issue.code === 'invalid_type' && given === undefined) {
      lines.push(`${prefix}is required (${issue.expected}).`);
      continue;
    }
    let text = issue.message.replace(/^Invalid input: /, '');
    if (issue.code === 'too_small' && text.startsWith('Too small')) text = `must be at least ${String(issue.minimum)}`;
    if (issue.code === 'too_big' && text.startsWith('Too big')) text = `must be at most ${String(issue.maximum)}`;
    let hint = '';
    if (typeof given === 'string' && given.trim() !== '' && Number.isFinite(Number(given)) && wantsNumber(issue)) {
      hint = ` Pass the number ${Number(given)}, not the string ${JSON.stringify(given)}.`;
    }
    lines.push(`${prefix}${text} (got ${shown(given)}).${hint}`);
  }
  return lines;
}

/** The checked changes of `configure()`: only the keys given, never the schema's defaults. */
export function checkSettingChanges(mock: string, changes: unknown): Record<string, unknown> {
  const call = 'configure()';
  if (changes === null || typeof changes !== 'object' || Array.isArray(changes)) {
    throw controlError(mock, call, [`takes an object of settings, for example configure({ latency_ms: 300 }) (got ${shown(changes)}).`]);
  }
  const problems: string[] = [];
  const known: readonly string[] = RUNTIME_SETTING_KEYS;
  for (const key of Object.keys(changes)) {
    if (known.includes(key)) continue;
    if (key in CONFIG_ONLY) problems.push(`${key}: is not a run-time setting (${CONFIG_ONLY[key]}).`);
    else problems.push(`${key}: unknown setting.${didYouMean(key, known)} Settings: ${known.join(', ')}.`);
  }
  const given = Object.fromEntries(Object.entries(changes).filter(([key]) => known.includes(key)));
  const parsed = runtimeSettingsSchema.safeParse(given);
  if (!parsed.success) problems.push(...describeIssues(runtimeSettingsSchema, given, parsed.error.issues));
  if (problems.length > 0) throw controlError(mock, call, problems);
  const data = parsed.data as Record<string, unknown>;
  return Object.fromEntries(Object.keys(given).map((key) => [key, data[key]]));
}

/** Problems with one answer (a function is checked when it answers). */
export function answerProblems(answer: unknown, where: string): string[] {
  if (typeof answer === 'function' || typeof answer === 'string') return [];
  if (answer === null || typeof answer !== 'object' || Array.isArray(answer) || answer instanceof RegExp) {
    return [`${where}: an answer is a string, an object with one of text, json, tool_call, tool_calls, content or error, or a function of the request (got ${shown(answer)}).`];
  }
  const parsed = answerObjectSchema.safeParse(answer);
  return parsed.success ? [] : describeIssues(answerObjectSchema, answer, parsed.error.issues, where);
}

/** Problems with one answer or a list of answers. */
export function answersProblems(answers: unknown, where: string): string[] {
  if (!Array.isArray(answers)) return answerProblems(answers, where);
  if (answers.length === 0) return [`${where}: an empty list has no answer to give. Give at least one answer.`];
  return answers.flatMap((answer, i) => answerProblems(answer, `${where}[${i}]`));
}

/** Checks `setPatterns(model, patterns, options)`; returns the patterns as `[key, answers]` pairs. */
export function checkSetPatterns(mock: string, model: unknown, patterns: unknown, options: unknown): Array<[string | RegExp, unknown]> {
  const call = `setPatterns(${shown(model)}, …)`;
  const problems = modelProblems(model);
  let entries: Array<[unknown, unknown]> = [];
  if (Array.isArray(patterns)) {
    patterns.forEach((entry, i) => {
      if (Array.isArray(entry) && entry.length === 2) entries.push([entry[0], entry[1]]);
      else problems.push(`patterns[${i}]: must be a [key, answers] pair, for example ['debug', 'Fixed it'] (got ${shown(entry)}).`);
    });
  } else if (patterns !== null && typeof patterns === 'object' && !(patterns instanceof RegExp)) {
    entries = Object.entries(patterns);
  } else {
    problems.push(`patterns: must be an object of keyword → answers, for example { debug: 'Fixed it' }, or a list of [key, answers] pairs (got ${shown(patterns)}).`);
  }
  for (const [key, answers] of entries) {
    const label = `patterns[${shown(key)}]`;
    if (key instanceof RegExp) {
      // ok: a regular expression tried against the last user message
    } else if (typeof key !== 'string' || key === '') {
      problems.push(`${label}: a pattern key is a non-empty keyword, a "/regex/flags" string or a RegExp.`);
      continue;
    } else {
      const error = patternKeyError(key);
      if (error) problems.push(`${label}: pattern key ${error}`);
    }
    problems.push(...answersProblems(answers, label));
  }
  if (options !== undefined) {
    const parsed = setPatternsOptionsSchema.safeParse(options);
    if (!parsed.success) problems.push(...describeIssues(setPatternsOptionsSchema, options, parsed.error.issues, 'options'));
  }
  if (problems.length > 0) throw controlError(mock, call, problems);
  return entries as Array<[string | RegExp, unknown]>;
}

/**
 * Checks `setRules(model, rules, options)` against the config's rule schema
 * (a RegExp is accepted where the config takes a "/regex/" string, a function
 * where it takes an answer); returns the rules.
 */
export function checkSetRules(mock: string, model: unknown, rules: unknown, options: unknown): MockRuleInput[] {
  const problems = modelProblems(model);
  if (!Array.isArray(rules)) {
    problems.push(`rules: must be a list of rules, for example [{ when: { prompt: 'weather' }, answer: 'Sunny.' }] (got ${shown(rules)}).`);
  } else {
    rules.forEach((rule, i) => {
      const where = `rules[${i}]`;
      if (rule === null || typeof rule !== 'object' || Array.isArray(rule)) {
        problems.push(`${where}: must be an object with when and answer (got ${shown(rule)}).`);
        return;
      }
      const { answer, ...rest } = rule as Record<string, unknown>;
      // The schema checks everything but the answer (which may be a function) and RegExp conditions.
      const when = rest.when as Record<string, unknown> | undefined;
      const asConfig = {
        ...rest,
        answer: 'checked below',
        ...(when && typeof when === 'object' ? { when: Object.fromEntries(Object.entries(when).map(([k, v]) => [k, v instanceof RegExp ? String(v) : v])) } : {}),
      };
      const parsed = ruleSchema.safeParse(asConfig);
      if (!parsed.success) problems.push(...describeIssues(ruleSchema, asConfig, parsed.error.issues, where));
      if (answer === undefined) problems.push(`${where}.answer: is required (an answer, a list of answers, or a function of the request).`);
      else problems.push(...answersProblems(answer, `${where}.answer`));
    });
  }
  if (options !== undefined) {
    const parsed = setPatternsOptionsSchema.safeParse(options);
    if (!parsed.success) problems.push(...describeIssues(setPatternsOptionsSchema, options, parsed.error.issues, 'options'));
  }
  if (problems.length > 0) throw controlError(mock, `setRules(${shown(model)}, …)`, problems);
  return rules as MockRuleInput[];
}

/** Checks `setDefault(model, answers)`. */
export function checkSetDefault(mock: string, model: unknown, answers: unknown): void {
  const problems = [...modelProblems(model), ...answersProblems(answers, 'answers')];
  if (problems.length > 0) throw controlError(mock, `setDefault(${shown(model)}, …)`, problems);
}

/** Checks `failNext(count, failure)`. */
export function checkFailNext(mock: string, count: unknown, failure: unknown): void {
  const problems: string[] = [];
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 0) {
    problems.push(`count: must be a whole number of calls, 0 or more (got ${shown(count)}).`);
  }
  if (failure !== undefined) {
    // An object can only be the {status, message} form: check it as one, for precise messages.
    const schema = failure !== null && typeof failure === 'object' ? answerErrorSchema.options[1] : answerErrorSchema;
    const parsed = schema.safeParse(failure);
    if (!parsed.success) problems.push(...describeIssues(schema, failure, parsed.error.issues, 'failure'));
  }
  if (problems.length > 0) throw controlError(mock, `failNext(${shown(count)}${failure === undefined ? '' : ', …'})`, problems);
}

function modelProblems(model: unknown): string[] {
  return typeof model === 'string' && model !== '' ? [] : [`model: must be a model name, or "*" for every model (got ${shown(model)}).`];
}

/**
 * A warning when answers are set for a model that no route sends to this
 * mock: they could never answer. Undefined when the model is served (or the
 * mock was not told which models it serves).
 */
export function unservedModelWarning(mock: string, call: string, model: string, served: readonly string[] | undefined): string | undefined {
  if (served === undefined || model === '*' || served.includes(model)) return undefined;
  const suggestion = closest(model, served);
  return (
    `${call}: no route sends model "${model}" to mock "${mock}", so these answers are never used.` +
    `${suggestion ? ` Did you mean "${suggestion}"?` : ''} Models routed to "${mock}": ${served.join(', ') || '(none)'}; "*" answers for every model.`
  );
}
