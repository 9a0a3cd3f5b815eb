/**
 * Server defaults and body limits; mock pattern order and `/regex/` keys.
 */
import { describe, expect, it } from 'vitest';
import { defineConfig, parseSize } from '../../src/config/load.ts';
import { load, MOCK_ONLY, onlyIssue } from './helpers.ts';

const MODELS = 'models:\n  gpt-4: {provider: mock}\n';

describe('config server section', () => {
  it('defaults to 127.0.0.1:8000 with a 4 MB body limit', () => {
    expect(load(`${MOCK_ONLY}${MODELS}`).server).toEqual({
      host: '127.0.0.1',
      port: 8000,
      body_limit: '4mb',
      body_limit_bytes: 4_000_000,
      shutdown_grace_ms: 10_000,
      max_json_depth: 100,
      headers_timeout_ms: 60_000,
      request_timeout_ms: 300_000,
      keep_alive_timeout_ms: 65_000,
      max_connections: 1_000,
      conversations: { max_count: 1_000, max_memory: '64mb' },
      conversation_memory_bytes: 64_000_000,
      cors_origins: [],
    });
  });

  it('takes host, port, body_limit and shutdown_grace_ms', () => {
    expect(load(`${MOCK_ONLY}${MODELS}server:\n  host: 0.0.0.0\n  port: 0\n  body_limit: 1024\n  shutdown_grace_ms: 250\n`).server).toMatchObject({
      host: '0.0.0.0',
      port: 0,
      body_limit_bytes: 1024,
      shutdown_grace_ms: 250,
    });
  });

  it.each([
    ['512kb', 512_000],
    ['512KiB', 524_288],
    ['4mb', 4_000_000],
    ['1.5 MiB', 1_572_864],
    ['100b', 100],
    ['2048', 2048],
  ])('body_limit %s is %i bytes', (size, bytes) => {
    expect(parseSize(size)).toBe(bytes);
    expect(load(`${MOCK_ONLY}${MODELS}server:\n  body_limit: "${size}"\n`).server.body_limit_bytes).toBe(bytes);
  });

  it('rejects a zero or unitless-garbage body limit', () => {
    expect(onlyIssue(`${MOCK_ONLY}${MODELS}server:\n  body_limit: 0\n`).path).toBe('server.body_limit');
    expect(onlyIssue(`${MOCK_ONLY}${MODELS}server:\n  body_limit: 4gb\n`).message).toMatch(/must be a size such as/);
  });
});

describe('config mock patterns', () => {
  const patternsOf = (yaml: string) => {
    const mock = load(`${MOCK_ONLY}    responses:\n      gpt-4:\n        patterns:\n${yaml}${MODELS}`).providers.mock!;
    if (mock.type !== 'mock') throw new Error('not a mock');
    return mock.responses['gpt-4']!.patterns.map(([key]) => key);
  };

  it('keeps patterns in file order, integer-like keys included', () => {
    // A plain JS object would move "404" and 10 before "debug".
    expect(patternsOf('          debug: a\n          "404": b\n          10: c\n          /re+fac/i: d\n          error: e\n')).toEqual([
      'debug',
      '404',
      '10',
      '/re+fac/i',
      'error',
    ]);
  });

  it('keeps pattern order in inline (JSON-style) configs too', () => {
    const mock = load(JSON.stringify({ providers: { mock: { type: 'mock', responses: { m: { patterns: { b: '1', '2': '2', a: '3' } } } } }, models: { m: { provider: 'mock' } } }))
      .providers.mock!;
    // JSON.stringify has already moved "2" first: that is the object's own order, kept as given.
    expect(mock.type === 'mock' && mock.responses.m!.patterns.map(([k]) => k)).toEqual(['2', 'b', 'a']);
  });

  it('defineConfig() takes patterns as a mapping, as in YAML (typed and at run time)', () => {
    const config = defineConfig({
      providers: { mock: { type: 'mock', responses: { m: { default: 'd', patterns: { debug: 'D', '/x+/i': ['X1', { error: 429 }] } } } } },
      models: { m: { provider: 'mock' } },
    });
    const mock = config.providers.mock!;
    expect(mock.type === 'mock' && mock.responses.m!.patterns).toEqual([
      ['debug', 'D'],
      ['/x+/i', ['X1', { error: 429 }]],
    ]);
  });

  it('an invalid /regex/ key is a config error with its position, not a crash later', () => {
    const issue = onlyIssue(`${MOCK_ONLY}    responses:\n      gpt-4:\n        patterns:\n          ok: fine\n          "/(unclosed/i": broken\n${MODELS}`);
    expect(issue).toMatchObject({ path: 'providers.mock.responses.gpt-4.patterns./(unclosed/i', line: 8, column: 11 });
    expect(issue.message).toMatch(/^pattern key "\/\(unclosed\/i" is not a valid regular expression: .*Write a plain keyword, or fix the expression\.$/);
  });

  it('an invalid regex flag is caught too', () => {
    expect(onlyIssue(`${MOCK_ONLY}    responses:\n      gpt-4:\n        patterns:\n          /x/ii: a\n${MODELS}`).message).toMatch(/not a valid regular expression/);
  });

  it('a key that only looks like a path is a keyword, not a regex', () => {
    expect(patternsOf('          /usr/local: a\n')).toEqual(['/usr/local']);
  });
});
