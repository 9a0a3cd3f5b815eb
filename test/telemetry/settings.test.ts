/**
 * When traces are on: the config's `telemetry:` section, the standard
 * OTEL_EXPORTER_OTLP_* variables, and the switches that turn them off.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { tracingSettings } from '../../src/telemetry/settings.ts';

const base = 'providers:\n  mock: { type: mock }\nmodels:\n  gpt-4: { provider: mock }\n';

describe('tracingSettings', () => {
  it('is off without a telemetry section and without OTEL_EXPORTER_OTLP_* variables', () => {
    expect(tracingSettings(parseConfig(base), {})).toBeUndefined();
  });

  it('is on with a telemetry section, with its endpoint, headers and service name', () => {
    const config = parseConfig(`${base}telemetry:\n  endpoint: http://collector:4318/v1/traces\n  headers: { x-api-key: k }\n  service_name: gw\n`);
    expect(tracingSettings(config, {})).toEqual({ endpoint: 'http://collector:4318/v1/traces', headers: { 'x-api-key': 'k' }, serviceName: 'gw', batch: {} });
  });

  it('is on with either OTLP endpoint variable; the exporter reads the rest from the environment', () => {
    expect(tracingSettings(parseConfig(base), { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' })).toEqual({ endpoint: undefined, headers: undefined, serviceName: 'tokenpak', batch: {} });
    expect(tracingSettings(parseConfig(base), { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:4318/v1/traces', OTEL_SERVICE_NAME: 'svc' })?.serviceName).toBe('svc');
  });

  it('reads the batch processor variables, ignoring malformed ones', () => {
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_BSP_SCHEDULE_DELAY: '200', OTEL_BSP_MAX_QUEUE_SIZE: '4096', OTEL_BSP_MAX_EXPORT_BATCH_SIZE: 'lots', OTEL_BSP_EXPORT_TIMEOUT: '-1' };
    expect(tracingSettings(parseConfig(base), env)?.batch).toEqual({ scheduledDelayMillis: 200, maxQueueSize: 4096 });
  });

  it('is off with enabled: false, OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none, whatever else says on', () => {
    const on = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' };
    expect(tracingSettings(parseConfig(`${base}telemetry:\n  enabled: false\n`), on)).toBeUndefined();
    const section = parseConfig(`${base}telemetry: {}\n`);
    expect(tracingSettings(section, {})).toEqual({ endpoint: undefined, headers: undefined, serviceName: 'tokenpak', batch: {} });
    expect(tracingSettings(section, { OTEL_SDK_DISABLED: 'true' })).toBeUndefined();
    expect(tracingSettings(section, { OTEL_TRACES_EXPORTER: 'none' })).toBeUndefined();
  });

  it('rejects an endpoint that is not an http(s) URL, naming the key and the fix', () => {
    expect(() => parseConfig(`${base}telemetry:\n  endpoint: collector:4317\n`)).toThrow(/telemetry\.endpoint.*must be an http\(s\) URL, for example http:\/\/localhost:4318\/v1\/traces/s);
    expect(() => parseConfig(`${base}telemetry:\n  endpont: http://c\n`)).toThrow(/endpont.*did you mean "endpoint"/is);
  });
});

describe('telemetry secrets', () => {
  it('counts a ${VAR} in telemetry and a credential header written literally among the secrets redacted everywhere', () => {
    const config = parseConfig(`${base}telemetry:\n  endpoint: \${TRACES_URL}\n  headers: { x-api-key: literal-trace-key-123, x-team: visible }\n`, {
      env: { TRACES_URL: 'https://user:pw@traces.example/v1/traces' },
    });
    expect(config.secrets).toContain('https://user:pw@traces.example/v1/traces');
    expect(config.secrets).toContain('literal-trace-key-123');
    expect(config.secrets).not.toContain('visible');
  });
});
