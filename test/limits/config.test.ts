/**
 * The `limits:` of client keys and models, and `state:`, as the config loader
 * checks them: each mistake is one located line naming the fix.
 */
import { describe, expect, it } from 'vitest';
import { checkConfig } from '../../src/config/check.ts';
import { hasLimits } from '../../src/limits/limiter.ts';
import { configError, load, MOCK_ONLY, onlyIssue } from '../config/helpers.ts';

const KEY = 'team-a-key-0123456789abcdef';
const withKey = (entry: string) => `${MOCK_ONLY}models:\n  gpt-4: { provider: mock }\nserver:\n  auth:\n    keys:\n      - ${entry}\n`;

describe('limits in the config', () => {
  it('reads key and model limits and the Redis state as written', () => {
    const config = load(
      `${MOCK_ONLY}models:\n  gpt-4:\n    provider: mock\n    limits: { requests_per_minute: 600, tokens_per_minute: 200000 }\n` +
        `server:\n  auth:\n    keys:\n      - key: ${KEY}\n        name: team-a\n        limits: { requests_per_minute: 60, tokens_per_minute: 40000, cents_per_day: 500, cents_per_month: 2500.5 }\n` +
        'state: { redis: "redis://:hunter22@127.0.0.1:6379" }\n',
    );
    expect(config.models['gpt-4']!.settings.limits).toEqual({ requests_per_minute: 600, tokens_per_minute: 200000 });
    expect(config.server.auth!.keys[0]).toEqual({ key: KEY, name: 'team-a', limits: { requests_per_minute: 60, tokens_per_minute: 40000, cents_per_day: 500, cents_per_month: 2500.5 } });
    expect(config.state).toEqual({ redis: 'redis://:hunter22@127.0.0.1:6379', prefix: 'tokenpak' });
    // The Redis password is a secret: no answer, log line or output shows it.
    expect(config.secrets).toContain('hunter22');
    expect(hasLimits(config)).toBe(true);
    expect(hasLimits(load(`${MOCK_ONLY}models:\n  gpt-4: { provider: mock }\n`))).toBe(false);
  });

  it('a limit of 0 or a fraction of a request says what to write instead', () => {
    expect(onlyIssue(withKey(`{ key: ${KEY}, limits: { requests_per_minute: 0 } }`))).toMatchObject({
      path: 'server.auth.keys[0].limits.requests_per_minute',
      message: 'must be 1 or more requests per minute; remove the line for no limit',
    });
    expect(onlyIssue(withKey(`{ key: ${KEY}, limits: { tokens_per_minute: 1.5 } }`)).message).toBe('must be a whole number of tokens per minute (1 or more)');
    expect(onlyIssue(withKey(`{ key: ${KEY}, limits: { cents_per_day: -5 } }`)).message).toBe('must be more than 0 cents per day; remove the line for no limit');
    expect(onlyIssue(withKey(`{ key: ${KEY}, limits: { cents_per_month: "ten dollars" } }`)).message).toBe('must be a number of US cents per month (500 is $5.00)');
  });

  it('a misspelt limit, or a spend limit on a model, is an unknown key with the known ones listed', () => {
    expect(onlyIssue(withKey(`{ key: ${KEY}, limits: { request_per_minute: 5 } }`)).message).toMatch(/^unknown key "request_per_minute"\. Did you mean "requests_per_minute"\?/);
    const spendOnModel = onlyIssue(`${MOCK_ONLY}models:\n  gpt-4: { provider: mock, limits: { cents_per_day: 100 } }\n`);
    expect(spendOnModel).toMatchObject({ path: 'models.gpt-4.limits.cents_per_day', line: 5 });
    expect(spendOnModel.message).toContain('Known keys here: requests_per_minute, tokens_per_minute.');
  });

  it('two keys with one name, and a state that is not a Redis URL, are refused', () => {
    const twice = configError(withKey(`{ key: ${KEY}, name: ci }\n      - { key: other-key-0123456789abcdef, name: ci }`));
    expect(twice.issues.map((i) => `${i.path}: ${i.message}`)).toEqual(['server.auth.keys[1].name: "ci" names an earlier key too. Give each key its own name.']);
    expect(onlyIssue(`${MOCK_ONLY}models:\n  gpt-4: { provider: mock }\nstate: { redis: "localhost:6379" }\n`)).toMatchObject({
      path: 'state.redis',
      message: 'must be a redis:// or rediss:// URL, for example redis://127.0.0.1:6379 or ${REDIS_URL}',
    });
  });

  it('validate-config says what is limited and where the counters live, and warns of a budget that unpriced models would spend for free', () => {
    const config = load(
      'providers:\n  mock: { type: mock }\n  openai: { type: openai, api_key: sk-test-0123456789abcdef }\n' +
        'models:\n  gpt-4: { provider: mock, limits: { requests_per_minute: 5 } }\n  mystery: { provider: openai, model: my-finetune }\n  priced: { provider: openai, model: gpt-4o }\n' +
        `server:\n  auth:\n    keys:\n      - { key: ${KEY}, name: team-a, limits: { cents_per_day: 500 } }\n      - { key: other-key-0123456789abcdef, models: [gpt-4, priced], limits: { cents_per_month: 500 } }\n`,
    );
    const check = checkConfig(config);
    expect(check.summary).toContain("Limits: key team-a, server.auth.keys[1], model gpt-4; counters in this process's memory (one replica; set state.redis for several)");
    expect(check.warnings.filter((w) => w.path.startsWith('server.auth'))).toEqual([
      {
        path: 'server.auth.keys[0].limits',
        message: "sets a budget, but model(s) mystery this key may use can reach a model with no known price, whose calls count 0 cents against it. Add their prices under pricing:, or limit the key's models.",
      },
    ]);
    const shared = checkConfig(load(`${MOCK_ONLY}models:\n  gpt-4: { provider: mock, limits: { tokens_per_minute: 5000 } }\nstate: { redis: "redis://:pw@10.0.0.5:6380" }\n`));
    expect(shared.summary).toContain('Limits: model gpt-4; counters in Redis at 10.0.0.5:6380 (state.redis, shared by replicas)');
    expect(checkConfig(load(`${MOCK_ONLY}models:\n  gpt-4: { provider: mock }\n`)).summary.some((line) => line.startsWith('Limits'))).toBe(false);
  });
});
