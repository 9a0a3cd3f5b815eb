/**
 * `tokenpak proxy`, run as the built CLI: start-up message, answers, signals,
 * port reuse, and start-up failures.
 */
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort, recipeDir, startProxyProcess, writeConfig } from './helpers.ts';

const QUICK = 'providers:\n  mock:\n    type: mock\n    latency_ms: 0\n    responses:\n      gpt-4: {default: pong}\nmodels:\n  gpt-4: {provider: mock}\n';

async function ask(url: string) {
  const response = await fetch(`${url}/v1/messages`, { method: 'POST', body: JSON.stringify({ model: 'gpt-4', messages: [{ role: 'user', content: 'ping' }] }) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('tokenpak proxy', () => {
  it('--port 0 listens on a free port, prints where and its routes, answers, and exits 0 on SIGTERM', async () => {
    const config = writeConfig('quick.yaml', QUICK);
    const proxy = startProxyProcess(['--config', config, '--port', '0']);
    const url = await proxy.listening;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(proxy.stdout()).toContain(`TokenPak proxy listening on ${url} (config: ${config})`);
    expect(proxy.stdout()).toContain('gpt-4 → mock');
    expect(await ask(url)).toMatchObject({ status: 200, body: { content: 'pong', provider: 'mock', cost_cents: 0 } });
    proxy.child.kill('SIGTERM');
    expect(await proxy.exited).toBe(0);
    expect(proxy.stdout()).toContain('SIGTERM: stopping');
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });

  it('SIGTERM frees the port at once for a second proxy on the same port, which stops on SIGINT', async () => {
    const port = await freePort();
    const config = join(recipeDir, 'config.yaml');
    const first = startProxyProcess(['--config', config, '--port', String(port)]);
    const url = await first.listening;
    expect(url).toBe(`http://127.0.0.1:${port}`);
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    const second = startProxyProcess(['--config', config, '--port', String(port)]);
    expect(await second.listening).toBe(url);
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    second.child.kill('SIGINT');
    expect(await second.exited).toBe(0);
    expect(second.stdout()).toContain('SIGINT: stopping');
  });

  it('lets an in-flight request finish on SIGTERM, then exits 0', async () => {
    const config = writeConfig('slow.yaml', QUICK.replace('latency_ms: 0', 'latency_ms: 400'));
    const proxy = startProxyProcess(['--config', config, '--port', '0']);
    const url = await proxy.listening;
    const inFlight = ask(url);
    // Give the request time to reach the proxy before the signal.
    await new Promise((resolve) => setTimeout(resolve, 150));
    proxy.child.kill('SIGTERM');
    expect(await inFlight).toMatchObject({ status: 200, body: { content: 'pong' } });
    expect(await proxy.exited).toBe(0);
  });

  it('a second signal while requests are still running stops at once with exit 1', async () => {
    const config = writeConfig('very-slow.yaml', QUICK.replace('latency_ms: 0', 'latency_ms: 30000'));
    const proxy = startProxyProcess(['--config', config, '--port', '0']);
    const url = await proxy.listening;
    const inFlight = ask(url).catch((error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 150));
    proxy.child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 100));
    proxy.child.kill('SIGTERM');
    expect(await proxy.exited).toBe(1);
    expect(proxy.stderr()).toContain('[tokenpak] SIGTERM again: stopping now.');
    expect(await inFlight).toBeInstanceOf(Error);
  });

  it('a bad config exits 1 with the error, before listening', async () => {
    const config = writeConfig('bad.yaml', 'providers:\n  mock: {type: mock}\nmodels:\n  gpt-4: {provider: mokc}\n');
    const proxy = startProxyProcess(['--config', config, '--port', '0']);
    expect(await proxy.exited).toBe(1);
    await expect(proxy.listening).rejects.toThrow();
    expect(proxy.stderr()).toContain(`[tokenpak] Failed to load ${config}:4:21: models.gpt-4.provider: routes to unknown provider "mokc".`);
    expect(proxy.stderr()).not.toMatch(/\n\s+at /);
  });

  it('a missing config file exits 1 and says what to pass', async () => {
    const proxy = startProxyProcess(['--config', 'nope.yaml']);
    expect(await proxy.exited).toBe(1);
    expect(proxy.stderr()).toContain('nope.yaml: cannot read the config file: the file does not exist. Pass the path of a YAML config with --config.');
  });

  it('the recipe prod config without keys exits 1 naming the variables', async () => {
    const proxy = startProxyProcess(['--config', join(recipeDir, 'config.prod.yaml'), '--port', '0']);
    expect(await proxy.exited).toBe(1);
    expect(proxy.stderr()).toContain('providers.openai.api_key: uses ${OPENAI_API_KEY}, which is not set.');
  });

  it('--env production refuses a config that routes to a mock', async () => {
    const proxy = startProxyProcess(['--config', join(recipeDir, 'config.yaml'), '--port', '0', '--env', 'production']);
    expect(await proxy.exited).toBe(1);
    expect(proxy.stderr()).toContain('Refusing to start in production: models.gpt-4 can reach mock provider "mock"');
  });

  it('a port in use exits 1 and says so', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const proxy = startProxyProcess(['--config', writeConfig('busy.yaml', QUICK), '--port', String(port)]);
      expect(await proxy.exited).toBe(1);
      expect(proxy.stderr()).toContain(`Port ${port} on 127.0.0.1 is already in use. Stop the other process, or pass --port.`);
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });

  it.each([
    [['--config', 'x.yaml', '--port', 'abc'], /--port must be a whole number from 0 to 65535, not "abc"/],
    [['x.yaml'], /proxy takes no positional arguments/],
    [['--config', 'x.yaml', '--verbose'], /tokenpak proxy: unknown option --verbose\. .*\n.*Run "tokenpak proxy --help"/],
  ])('usage error %j exits 2', async (args, message) => {
    const proxy = startProxyProcess(args);
    expect(await proxy.exited).toBe(2);
    expect(proxy.stderr()).toMatch(message);
  });
});
