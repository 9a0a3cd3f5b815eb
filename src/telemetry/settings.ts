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
  };
}
