import { checkConfig } from '../config/check.ts';
import { loadConfig } from '../config/load.ts';
import { TokenPakError } from '../errors.ts';
import { createCallLogStore, describeStore } from '../logs/create-store.ts';
import { cassettesEnabled } from '../cassettes/enabled.ts';
import type { CassetteUsage } from '../cassettes/setup.ts';
import { checkExposure } from '../server/access.ts';
import { startProxy } from '../server/proxy.ts';
import { tracingSettings } from '../telemetry/settings.ts';
import type { TraceObserver } from '../telemetry/tracer.ts';
import { createRedactor } from '../util/redact.ts';
import { configPath, parseDeployEnv, parseFlags, parsePort, UsageError } from './shared.ts';
import { commandHelp } from './help.ts';
import { createReloader, watchFile } from './reload.ts';

/** `tokenpak proxy`: runs until SIGTERM or SIGINT; SIGHUP (and with `--watch`, a change of the file) reloads the config. */
export async function proxyCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags('proxy', args, {
    config: { type: 'string', short: 'c' },
    port: { type: 'string', short: 'p' },
    host: { type: 'string' },
    env: { type: 'string' },
    record: { type: 'string' },
    replay: { type: 'string' },
    watch: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h' },
  });
  if (positionals.length > 0) throw new UsageError(`proxy takes no positional arguments (got "${positionals[0]}"); pass the config with --config FILE.`);
  if (values.help) {
    process.stdout.write(`${commandHelp['proxy']}\n`);
    return 0;
  }
  const file = configPath(values.config);
  const env = parseDeployEnv(values.env);
  const port = parsePort(values.port);
  if (values.record !== undefined && values.replay !== undefined) throw new UsageError('--record and --replay cannot be used together: record once, then replay.');
  const cassetteDir = values.record ?? values.replay;
  if (cassetteDir === '') throw new UsageError(`--${values.record !== undefined ? 'record' : 'replay'} needs a folder, for example --replay cassettes.`);
  const overrides = cassetteDir !== undefined ? { mode: values.record !== undefined ? ('record' as const) : ('replay' as const), dir: cassetteDir } : {};
  // `let`: a reload replaces it (the trace observer reads the current one).
  let config = await loadConfig(file, { replay: values.replay !== undefined });
  const { errors, warnings } = checkConfig(config, { env });
  if (env === 'production') {
    if (errors.length > 0) {
      throw new TokenPakError('production_guard', `Refusing to start in production: ${errors.map((e) => `${e.path} ${e.message}`).join('; ')}`);
    }
  }

  // The warnings `tokenpak validate-config` prints, so that a proxy started without it shows them too.
  for (const warning of warnings) process.stderr.write(`⚠ ${warning.path}: ${warning.message}\n`);

  // Before the call log is opened: a refused start leaves nothing behind.
  checkExposure(config, values.host ?? config.server.host);
  // The proxy logs to SQLite unless the config says otherwise (the Vitest plugin defaults to memory).
  const log = await createCallLogStore(config.logs, { defaultStore: 'sqlite' });
  // Loaded only when used: recording needs undici's Agent and the YAML writer.
  const cassettes = cassettesEnabled(config, overrides) ? (await import('../cassettes/setup.ts')).createCassettes(config, { overrides }) : undefined;
  // The OpenTelemetry SDK loads only when traces are configured.
  const tracing = tracingSettings(config);
  // An export failure quotes the collector (its status text), which may echo the key it refused.
  const redactTraces = createRedactor(config.secrets);
  // Spans read the providers' addresses from the config now serving (a reload may change them).
  let serving: { config: typeof config } | undefined;
  const traces: TraceObserver | undefined = tracing
    ? await (await import('../telemetry/tracer.ts')).createTraceObserver({
        settings: tracing,
        config: () => serving?.config ?? config,
        warn: (message) => process.stderr.write(`[tokenpak] ${redactTraces(message)}\n`),
      })
    : undefined;
  const proxy = await startProxy({
    config,
    log,
    ...(traces ? { observers: [traces] } : {}),
    keepMockCalls: false,
    ...(cassettes ? { cassettes } : {}),
    ...(port !== undefined ? { port } : {}),
    ...(values.host !== undefined ? { host: values.host } : {}),
  }).catch(async (error: NodeJS.ErrnoException) => {
    await log.close();
    // TokenPak's own start-up errors (Redis for state.redis unreachable) already say what to fix.
    if (TokenPakError.is(error)) throw error;
    throw listenError(error, values.host ?? config.server.host, port ?? config.server.port);
  });
  serving = proxy;
  const routes = Object.values(config.models).map((r) => `${r.name} → ${r.chain.map((t) => t.provider).join(' → ')}`);
  const reload = createReloader({
    file,
    env,
    replay: values.replay !== undefined,
    proxy,
    onReloaded: (next) => {
      config = next;
    },
  });
  const onHangup = () => void reload('SIGHUP');
  const watcher = values.watch ? watchFile(file, () => void reload(`${file} changed`)) : undefined;
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        process.stderr.write(`[tokenpak] ${signal} again: stopping now.\n`);
        process.exit(1);
      }
      stopping = true;
      watcher?.close();
      process.off('SIGHUP', onHangup);
      process.stdout.write(`[tokenpak] ${signal}: stopping (in-flight requests get up to ${config.server.shutdown_grace_ms} ms)\n`);
      proxy.close().then(
        async () => {
          if (cassettes) reportCassettes(await cassettes.close());
          // After the last call ended: its spans are in the batch this sends. A collector that is
          // down costs the spans, not a clean stop.
          await traces?.shutdown().catch((error: unknown) => {
            process.stderr.write(`[tokenpak] traces: the last spans were not sent (${redactTraces(error instanceof Error ? error.message : String(error))}); check telemetry.endpoint or OTEL_EXPORTER_OTLP_ENDPOINT.\n`);
          });
          resolve(0);
        },
        (error) => {
          process.stderr.write(`[tokenpak] error while stopping: ${String(error)}\n`);
          resolve(1);
        },
      );
    };
    // Handlers first: a supervisor may signal as soon as it reads the listening line.
    // `on`, not `once`, so that a second signal reaches the "stopping now" branch.
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    process.on('SIGHUP', onHangup);
    const recording = cassettes ? `\n  cassettes: ${cassettes.sets.map((set) => `${set.mode} ${set.dir}`).join(', ')}` : '';
    // The address as bound: 0.0.0.0 serves every interface, and the operator must see that.
    const where = proxy.listenUrl === proxy.url ? proxy.url : `${proxy.listenUrl} (every interface; from this machine: ${proxy.url})`;
    const auth = config.server.auth ? `client keys required (${config.server.auth.keys.length})` : 'no client keys (server.auth)';
    // The service name only: an endpoint URL may carry credentials.
    const traced = tracing ? `\n  traces: OTLP/HTTP, service.name ${tracing.serviceName}` : '';
    const metrics = !config.metrics.enabled ? '' : `\n  metrics: ${proxy.metricsUrl ?? `${proxy.url}/metrics${config.server.auth ? ' (client key required)' : ''}`}`;
    const watching = watcher ? `\n  watching ${file}: a change reloads it (so does SIGHUP)` : '';
    process.stdout.write(`TokenPak proxy listening on ${where} (config: ${file})\n  ${routes.join('\n  ')}\n  call log: ${describeStore(config.logs, 'sqlite')}\n  auth: ${auth}${recording}${traced}${metrics}${watching}\n`);
  });
}

/** Says which scenarios were used, and which recordings no request needed (candidates for `tokenpak cassettes prune`). */
function reportCassettes(usage: CassetteUsage[]): void {
  for (const entry of usage) {
    const unused = entry.total - entry.used;
    process.stdout.write(`[tokenpak] cassette ${entry.dir}/${entry.name}: ${entry.used} of ${entry.total} exchange(s) used${unused > 0 ? `, ${unused} unused` : ''}\n`);
  }
}

/** Why the proxy could not listen, as one line that says what to change (no stack: it is not a bug). */
function listenError(error: NodeJS.ErrnoException, host: string, port: number): TokenPakError {
  const where = `${host}:${port}`;
  const reasons: Record<string, string> = {
    EADDRINUSE: `Port ${port} on ${host} is already in use. Stop the other process, or pass --port.`,
    EACCES: `Not allowed to listen on ${where} (ports below 1024 need privileges). Pass --port with a port from 1024 up.`,
    EADDRNOTAVAIL: `Cannot listen on ${where}: ${host} is not an address of this machine. Pass --host 127.0.0.1 (this machine only) or --host 0.0.0.0 (every interface).`,
    ENOTFOUND: `Cannot listen on ${where}: the host name "${host}" does not resolve. Pass --host with an IP address, such as 127.0.0.1 or 0.0.0.0.`,
    EAI_AGAIN: `Cannot listen on ${where}: the host name "${host}" could not be resolved. Pass --host with an IP address, such as 127.0.0.1 or 0.0.0.0.`,
  };
  const message = reasons[error.code ?? ''] ?? `Cannot listen on ${where}: ${error.message}. Check server.host and server.port, or pass --host and --port.`;
  return new TokenPakError('internal_error', message, { cause: error });
}
