/** The one error base class: its cross-copy brand, and the one HTTP status → code mapping. */
import { describe, expect, it } from 'vitest';
import { classifyStatus, ProviderError, RequestError, TokenPakError } from '../src/errors.ts';
import { createMockProvider } from '../src/providers/mock/mock-provider.ts';
import { parseConfig } from '../src/config/load.ts';
import type { MockProviderSettings } from '../src/config/schema.ts';

describe('TokenPakError.is', () => {
  it('is true for TokenPak errors of every kind, and false for anything else', () => {
    expect(TokenPakError.is(new TokenPakError('internal_error', 'x'))).toBe(true);
    expect(TokenPakError.is(new RequestError('x'))).toBe(true);
    expect(TokenPakError.is(new ProviderError('provider_error', 'x', { provider: 'p' }))).toBe(true);
    for (const other of [new Error('x'), { code: 'internal_error', status: 500 }, null, undefined, 'tokenpak', 42]) {
      expect(TokenPakError.is(other)).toBe(false);
    }
  });

  it('recognises an error from another copy of the module, where instanceof does not', async () => {
    // The built package holds its own copy of the error classes, as a second installed copy would.
    const copy = await import('tokenpak');
    expect(copy.TokenPakError).not.toBe(TokenPakError);
    const foreign = new copy.ProviderError('rate_limited', 'x', { provider: 'p', status: 429 });
    expect(foreign instanceof TokenPakError).toBe(false);
    expect(TokenPakError.is(foreign)).toBe(true);
    expect(copy.TokenPakError.is(new RequestError('x'))).toBe(true);
  });
});

describe('one HTTP status → code mapping', () => {
  const mockFor = () => {
    const config = parseConfig('providers:\n  mock: {type: mock}\nmodels:\n  m: {provider: mock}\n', { env: {} });
    return createMockProvider('mock', config.providers.mock as MockProviderSettings);
  };
  const request = { model: 'm', messages: [{ role: 'user' as const, content: [{ type: 'text' as const, text: 'hi' }] }] };

  it.each([400, 401, 403, 404, 408, 409, 422, 429, 500, 503, 529])('the mock fails with HTTP %i the way classifyStatus says', async (status) => {
    const mock = mockFor();
    mock.failNext(1, { status });
    const error = (await mock.complete(request).catch((e: unknown) => e)) as TokenPakError;
    expect(TokenPakError.is(error)).toBe(true);
    expect({ status: error.status, code: error.code, retryable: error.retryable }).toEqual({ status, ...classifyStatus(status) });
  });

  it('names auth failures and conflicts as the upstream providers do', () => {
    expect(classifyStatus(401)).toEqual({ code: 'provider_auth_error', retryable: false });
    expect(classifyStatus(409)).toEqual({ code: 'provider_error', retryable: true });
  });
});
