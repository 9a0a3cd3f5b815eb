/**
 * Route resolution: fallback_provider (one name or a list), fallback_model
 * (one name or a per-provider map), fallback_route with cycle detection, and
 * routes to unknown or disabled providers.
 */
import { describe, expect, it } from 'vitest';
import { configError, load, onlyIssue } from './helpers.ts';

const PROVIDERS = 'providers:\n  mock:\n    type: mock\n  backup:\n    type: mock\n  spare:\n    type: mock\n';
const chain = (text: string, model: string) => load(text).models[model]!.chain;

describe('config routes', () => {
  it('a route with only a provider sends its own name upstream', () => {
    expect(chain(`${PROVIDERS}models:\n  gpt-4: {provider: mock}\n`, 'gpt-4')).toEqual([{ provider: 'mock', model: 'gpt-4' }]);
  });

  it('model renames the upstream model of the primary and, by default, of the fallbacks', () => {
    expect(chain(`${PROVIDERS}models:\n  fast: {provider: mock, model: gpt-4o-mini, fallback_provider: backup}\n`, 'fast')).toEqual([
      { provider: 'mock', model: 'gpt-4o-mini' },
      { provider: 'backup', model: 'gpt-4o-mini' },
    ]);
  });

  it('fallback_provider is one name or an ordered list', () => {
    expect(chain(`${PROVIDERS}models:\n  a: {provider: mock, fallback_provider: backup}\n`, 'a').map((t) => t.provider)).toEqual(['mock', 'backup']);
    expect(chain(`${PROVIDERS}models:\n  a: {provider: mock, fallback_provider: [spare, backup]}\n`, 'a').map((t) => t.provider)).toEqual([
      'mock',
      'spare',
      'backup',
    ]);
  });

  it('fallback_model as a string names the model at every fallback', () => {
    expect(chain(`${PROVIDERS}models:\n  a: {provider: mock, fallback_provider: [backup, spare], fallback_model: small}\n`, 'a')).toEqual([
      { provider: 'mock', model: 'a' },
      { provider: 'backup', model: 'small' },
      { provider: 'spare', model: 'small' },
    ]);
  });

  it('fallback_model as a map names the model per fallback provider; the others keep the primary model', () => {
    expect(
      chain(`${PROVIDERS}models:\n  a: {provider: mock, model: big, fallback_provider: [backup, spare], fallback_model: {spare: tiny}}\n`, 'a'),
    ).toEqual([
      { provider: 'mock', model: 'big' },
      { provider: 'backup', model: 'big' },
      { provider: 'spare', model: 'tiny' },
    ]);
  });

  it('a fallback_model map naming a provider that is not a fallback is an error', () => {
    const issue = onlyIssue(`${PROVIDERS}models:\n  a: {provider: mock, fallback_provider: backup, fallback_model: {spare: tiny}}\n`);
    expect(issue).toMatchObject({ path: 'models.a.fallback_model.spare', line: 9 });
    expect(issue.message).toBe('names provider "spare", which is not in fallback_provider (backup).');
  });

  it('fallback_route appends the other routes\u2019 chains, in order', () => {
    const text = `${PROVIDERS}models:\n  a: {provider: mock, fallback_route: [b, c]}\n  b: {provider: backup, model: bm}\n  c: {provider: spare, fallback_provider: mock}\n`;
    expect(chain(text, 'a')).toEqual([
      { provider: 'mock', model: 'a' },
      { provider: 'backup', model: 'bm' },
      { provider: 'spare', model: 'c' },
      { provider: 'mock', model: 'c' },
    ]);
  });

  it('fallback_route follows routes transitively', () => {
    const text = `${PROVIDERS}models:\n  a: {provider: mock, fallback_route: b}\n  b: {provider: backup, fallback_route: c}\n  c: {provider: spare}\n`;
    expect(chain(text, 'a').map((t) => t.provider)).toEqual(['mock', 'backup', 'spare']);
  });

  it('a fallback cycle is one error naming the cycle, at the entry that closes it', () => {
    const text = `${PROVIDERS}models:\n  a: {provider: mock, fallback_route: b}\n  b: {provider: mock, fallback_route: [c]}\n  c: {provider: mock, fallback_route: a}\n`;
    const issue = onlyIssue(text);
    expect(issue).toMatchObject({ path: 'models.c.fallback_route', line: 11, column: 39 });
    expect(issue.message).toBe('fallback cycle: a → b → c → a. Remove one of these fallback_route entries.');
  });

  it('a route that falls back to itself is a cycle', () => {
    expect(onlyIssue(`${PROVIDERS}models:\n  a: {provider: mock, fallback_route: a}\n`).message).toBe('fallback cycle: a → a. Remove one of these fallback_route entries.');
  });

  it('two separate cycles are two errors', () => {
    const error = configError(
      `${PROVIDERS}models:\n  a: {provider: mock, fallback_route: b}\n  b: {provider: mock, fallback_route: a}\n  c: {provider: mock, fallback_route: c}\n`,
    );
    expect(error.issues.map((i) => i.message)).toEqual([
      'fallback cycle: a → b → a. Remove one of these fallback_route entries.',
      'fallback cycle: c → c. Remove one of these fallback_route entries.',
    ]);
  });

  it('fallback_route to an unknown route suggests the close one and lists the models', () => {
    const issue = onlyIssue(`${PROVIDERS}models:\n  gpt-4: {provider: mock, fallback_route: gpt4}\n`);
    expect(issue.path).toBe('models.gpt-4.fallback_route');
    expect(issue.message).toBe('names unknown route "gpt4". Did you mean "gpt-4"? Configured models: gpt-4.');
  });

  it('a route to an unknown provider is an error with did-you-mean and the configured providers', () => {
    const issue = onlyIssue(`${PROVIDERS}models:\n  gpt-4: {provider: mokc}\n`);
    expect(issue).toMatchObject({ path: 'models.gpt-4.provider', line: 9, column: 21 });
    expect(issue.message).toBe('routes to unknown provider "mokc". Did you mean "mock"? Configured providers: mock, backup, spare.');
    expect(onlyIssue(`${PROVIDERS}models:\n  gpt-4: {provider: mock, fallback_provider: [backup, spar]}\n`)).toMatchObject({
      path: 'models.gpt-4.fallback_provider[1]',
      message: 'routes to unknown provider "spar". Did you mean "spare"? Configured providers: mock, backup, spare.',
    });
  });

  it('a route to a disabled provider is an error, primary or fallback', () => {
    const providers = `${PROVIDERS}  openai:\n    type: openai\n    enabled: false\n`;
    expect(onlyIssue(`${providers}models:\n  gpt-4: {provider: openai}\n`)).toMatchObject({
      path: 'models.gpt-4.provider',
      message: 'routes to provider "openai", which is disabled (enabled: false). Enable it, or route gpt-4 to an enabled provider.',
    });
    expect(onlyIssue(`${providers}models:\n  gpt-4: {provider: mock, fallback_provider: openai}\n`).path).toBe('models.gpt-4.fallback_provider');
  });

  it('keeps routes in file order', () => {
    expect(Object.keys(load(`${PROVIDERS}models:\n  zeta: {provider: mock}\n  gpt-4: {provider: mock}\n  alpha: {provider: mock}\n`).models)).toEqual([
      'zeta',
      'gpt-4',
      'alpha',
    ]);
  });
});
