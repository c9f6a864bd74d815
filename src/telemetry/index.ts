import type { Tracing } from './tracing';

export type { Tracing } from './tracing';

/**
 * OpenTelemetry traces, off unless asked for. The switch is the SDK's own environment: `OTEL_TRACES_EXPORTER=otlp`,
 * or an OTLP endpoint (`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`); `OTEL_SDK_DISABLED=true`
 * or `OTEL_TRACES_EXPORTER=none` turns them off. Unlike the SDK we do not default to OTLP on localhost: a service
 * that nobody asked to trace loads none of it and pays nothing.
 */
export function tracingEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false;
  const exporters = (env.OTEL_TRACES_EXPORTER ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter(Boolean);
  if (exporters.length > 0) return exporters.includes('otlp');
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

/**
 * Starts tracing for this process when the environment asks for it (see `tracingEnabled`); undefined otherwise.
 * The SDK is loaded only here, on demand.
 */
export async function startTracing(
  serviceName: 'durable-calls-gateway' | 'durable-calls-worker',
  env: NodeJS.ProcessEnv = process.env,
): Promise<Tracing | undefined> {
  if (!tracingEnabled(env)) return undefined;
  const { setUpTracing } = await import('./tracing');
  return setUpTracing(serviceName);
}

/**
 * The SDK's workflow interceptors (a module path, for the workflow bundle): they run inside the sandbox, so they
 * are bundled with the workflow code rather than loaded by the worker.
 */
export const WORKFLOW_TRACING_INTERCEPTORS = require.resolve(
  '@temporalio/interceptors-opentelemetry/lib/workflow-interceptors',
);
