import { tracingEnabled } from '../../../src/telemetry';

describe('tracingEnabled: the OTEL_* environment switches traces on, nothing else', () => {
  it.each<[string, NodeJS.ProcessEnv, boolean]>([
    ['nothing set (the default)', {}, false],
    ['an OTLP endpoint', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4318' }, true],
    ['an OTLP traces endpoint', { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://jaeger:4318/v1/traces' }, true],
    ['OTEL_TRACES_EXPORTER=otlp (endpoint: the SDK default)', { OTEL_TRACES_EXPORTER: 'otlp' }, true],
    ['otlp among several exporters', { OTEL_TRACES_EXPORTER: 'console, otlp' }, true],
    [
      'OTEL_TRACES_EXPORTER=none',
      { OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x:4318' },
      false,
    ],
    ['OTEL_SDK_DISABLED=true', { OTEL_SDK_DISABLED: 'true', OTEL_TRACES_EXPORTER: 'otlp' }, false],
    [
      'an empty OTEL_TRACES_EXPORTER with an endpoint',
      { OTEL_TRACES_EXPORTER: '', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x:4318' },
      true,
    ],
  ])('%s → %s', (_what, env, enabled) => {
    expect(tracingEnabled(env)).toBe(enabled);
  });
});
