/**
 * Whether traces are on, and where they go: the config's `telemetry:` section
 * and the standard OpenTelemetry environment variables. Deciding this needs
 * none of the OpenTelemetry packages, so a proxy without traces never loads them.
 */
import type { Config } from '../config/load.ts';

/** Where and how to send traces; the exporter reads the OTEL_EXPORTER_OTLP_* variables for what is unset here. */
export interface TracingSettings {
  /** The OTLP/HTTP traces URL; undefined: the exporter's default from the environment. */
  endpoint: string | undefined;
  /** Export headers; undefined: OTEL_EXPORTER_OTLP_(TRACES_)HEADERS. */
  headers: Record<string, string> | undefined;
  serviceName: string;
  /** The batch span processor's settings from the standard OTEL_BSP_* variables (unset: the SDK's defaults). */
  batch?: BatchSettings;
}

/** OTEL_BSP_SCHEDULE_DELAY, OTEL_BSP_MAX_QUEUE_SIZE, OTEL_BSP_MAX_EXPORT_BATCH_SIZE, OTEL_BSP_EXPORT_TIMEOUT. */
export interface BatchSettings {
  scheduledDelayMillis?: number;
  maxQueueSize?: number;
  maxExportBatchSize?: number;
  exportTimeoutMillis?: number;
}

// The SDK's batch processor no longer reads these itself; the specification says every SDK honours them.
const BATCH_VARIABLES = {
  scheduledDelayMillis: 'OTEL_BSP_SCHEDULE_DELAY',
  maxQueueSize: 'OTEL_BSP_MAX_QUEUE_SIZE',
  maxExportBatchSize: 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE',
  exportTimeoutMillis: 'OTEL_BSP_EXPORT_TIMEOUT',
} as const;

function batchSettings(env: NodeJS.ProcessEnv): BatchSettings {
  const batch: BatchSettings = {};
  for (const [key, variable] of Object.entries(BATCH_VARIABLES) as Array<[keyof BatchSettings, string]>) {
    const text = env[variable]?.trim();
    if (!text) continue;
    const value = Number(text);
    // As the specification asks of a malformed value: ignored, the default stands.
    if (Number.isInteger(value) && value > 0) batch[key] = value;
  }
  return batch;
}

/** The settings when traces are on, else undefined. */
export function tracingSettings(config: Pick<Config, 'telemetry'>, env: NodeJS.ProcessEnv = process.env): TracingSettings | undefined {
  const section = config.telemetry;
  if (section?.enabled === false) return undefined;
  // The specification's switches for every OpenTelemetry SDK.
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return undefined;
  if (env.OTEL_TRACES_EXPORTER?.trim().toLowerCase() === 'none') return undefined;
  const fromEnv = Boolean(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim());
  if (!section && !fromEnv) return undefined;
  return {
    endpoint: section?.endpoint,
    headers: section?.headers,
    serviceName: section?.service_name ?? (env.OTEL_SERVICE_NAME?.trim() || 'tokenpak'),
    batch: batchSettings(env),
  };
}
