/**
 * JSON Schema validation of canned mock answers against what a request
 * demands (a `json_schema` response format, a tool's input schema), with Ajv,
 * the standard JavaScript JSON Schema validator.
 *
 * Ajv is loaded on the first validation, not at start-up: most mock requests
 * never need it. Schemas arrive with requests, so compiled validators are
 * cached by schema text, a bounded number of them.
 */
import { createRequire } from 'node:module';
import type { Ajv2020 as AjvClass, ValidateFunction } from 'ajv/dist/2020.js';

const MAX_CACHED = 64;
/** Larger schemas are not compiled: a mock should not spend much on one request's schema. */
const MAX_SCHEMA_CHARS = 256 * 1024;

let ajv: AjvClass | undefined;
const cache = new Map<string, ValidateFunction | string>();

function instance(): AjvClass {
  if (!ajv) {
    // A synchronous load keeps the mock's answer planning synchronous (its call numbering must not depend on timing).
    const { Ajv2020 } = createRequire(import.meta.url)('ajv/dist/2020.js') as typeof import('ajv/dist/2020.js');
    // strict: false accepts the keywords structured-output schemas carry that Ajv does not know (OpenAI's `strict`, titles, draft-07 `definitions`).
    ajv = new Ajv2020({ strict: false, validateFormats: false, validateSchema: false, allErrors: false });
  }
  return ajv;
}

function compiled(schema: Record<string, unknown>): ValidateFunction | string {
  // `$schema` names a draft Ajv2020 would refuse to load; the keywords used in practice mean the same in 2020-12.
  const { $schema: _ignored, ...rest } = schema;
  const text = JSON.stringify(rest);
  const hit = cache.get(text);
  if (hit !== undefined) return hit;
  let result: ValidateFunction | string;
  if (text.length > MAX_SCHEMA_CHARS) result = `the schema is larger than ${MAX_SCHEMA_CHARS / 1024} KB`;
  else {
    try {
      result = instance().compile(rest);
    } catch (error) {
      result = `the schema does not compile: ${(error as Error).message}`;
    }
  }
  if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value!);
  cache.set(text, result);
  return result;
}

/** The outcome of a check: valid, invalid with the first failure, or not checked (the schema could not be used). */
export type SchemaCheck = { valid: true } | { valid: false; problem: string } | { valid: 'unchecked'; problem: string };

/**
 * Checks `value` against `schema`; an invalid value gets its first failure
 * with its path (`at /city: must be string`).
 */
export function validateAgainstSchema(schema: Record<string, unknown>, value: unknown): SchemaCheck {
  const validate = compiled(schema);
  if (typeof validate === 'string') return { valid: 'unchecked', problem: validate };
  if (validate(value)) return { valid: true };
  const error = validate.errors?.[0];
  if (!error) return { valid: false, problem: 'does not match the schema' };
  const extra =
    error.keyword === 'additionalProperties'
      ? ` (${JSON.stringify(error.params.additionalProperty)})`
      : error.keyword === 'enum'
        ? ` ${JSON.stringify(error.params.allowedValues)}`
        : '';
  return { valid: false, problem: `at ${error.instancePath || '/'}: ${error.message ?? error.keyword}${extra}` };
}
