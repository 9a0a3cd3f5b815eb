/**
 * A replay needs no API key: a provider that only answers from cassettes may
 * leave its key unset, and nothing else loosens.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';

const yaml = (cassettes: string) => `providers:
  openai:
    type: openai
    api_key: \${OPENAI_API_KEY}
${cassettes}models:
  gpt-4o: { provider: openai }
`;

describe('cassettes and API keys', () => {
  it('a replaying provider loads without its key, a recording one does not', () => {
    expect(() => parseConfig(yaml('    cassettes: { mode: replay, dir: c }\n'), { env: {} })).not.toThrow();
    expect(() => parseConfig(yaml('    cassettes: { mode: record, dir: c }\n'), { env: {} })).toThrow(/OPENAI_API_KEY/);
    expect(() => parseConfig(`${yaml('')}cassettes: { mode: replay }\n`, { env: {} })).not.toThrow();
    expect(() => parseConfig(yaml(''), { env: {} })).toThrow(/OPENAI_API_KEY/);
  });

  it('--replay (the replay load option) lets every real provider go without its key', () => {
    expect(() => parseConfig(yaml(''), { env: {}, replay: true })).not.toThrow();
    const noKeyLine = `providers:\n  openai: { type: openai }\nmodels:\n  gpt-4o: { provider: openai }\n`;
    expect(() => parseConfig(noKeyLine, { env: {} })).toThrow(/api_key: is required/);
    expect(() => parseConfig(noKeyLine, { env: {}, replay: true })).not.toThrow();
  });

  it('rejects a cassettes setting with a clear message', () => {
    expect(() => parseConfig(`${yaml('')}cassettes: { mode: replya }\n`, { env: { OPENAI_API_KEY: 'sk-test-123456' } })).toThrow(/cassettes\.mode.*"off", "record", "replay" or "auto"/s);
    expect(() => parseConfig(`${yaml('')}cassettes: { redact: ['/[unclosed/'] }\n`, { env: { OPENAI_API_KEY: 'sk-test-123456' } })).toThrow(/not a valid regular expression/);
  });
});
