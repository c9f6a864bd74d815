import { trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { Resource, envDetectorSync } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import {
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  OpenTelemetryWorkflowClientInterceptor,
  makeWorkflowExporter,
} from '@temporalio/interceptors-opentelemetry';
import type { ClientInterceptors } from '@temporalio/client';
import type { WorkerOptions } from '@temporalio/worker';
import type { FastifyInstance } from 'fastify';
import { traceRequests } from './http-server';
import { WORKFLOW_TRACING_INTERCEPTORS } from '.';

export interface Tracing {
  /** For each Temporal client: a start, signal or update carries the caller's trace into the workflow. */
  clientInterceptors: ClientInterceptors;
  /**
   * For the worker: activities continue the workflow's trace, and the spans workflows make in their sandbox leave it
   * through a sink. `workflowModules`: the workflow interceptors, for a worker that bundles its workflow code at
   * start; a prebuilt bundle has them built in (worker/bundle.ts).
   */
  workerOptions(options: { workflowModules: boolean }): Pick<WorkerOptions, 'interceptors' | 'sinks'>;
  /** A server span for each request the app answers. */
  traceRequests(app: FastifyInstance): void;
  /** Exports the spans still buffered, then stops. */
  shutdown(): Promise<void>;
}

/**
 * The process's tracer provider: spans batched to OTLP over HTTP (the exporter reads `OTEL_EXPORTER_OTLP_*`, the
 * batch `OTEL_BSP_*`), W3C trace context, and a client span for each undici request made inside a trace (the
 * carriers' APIs). `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES` override the resource.
 */
export function setUpTracing(serviceName: string): Tracing {
  const resource = Resource.default()
    .merge(new Resource({ 'service.name': serviceName }))
    .merge(envDetectorSync.detect());
  const spanProcessor = new BatchSpanProcessor(new OTLPTraceExporter());
  const provider = new BasicTracerProvider({ resource, spanProcessors: [spanProcessor] });
  // Propagators from OTEL_PROPAGATORS, by default W3C trace context and baggage.
  provider.register({ contextManager: new AsyncLocalStorageContextManager().enable() });
  // Only requests inside a trace: a health check of the simulator or a stray fetch starts none.
  const undici = new UndiciInstrumentation({ requireParentforSpans: true });

  return {
    clientInterceptors: { workflow: [new OpenTelemetryWorkflowClientInterceptor()] },
    workerOptions: ({ workflowModules }) => ({
      interceptors: {
        activity: [
          (ctx) => ({
            inbound: new OpenTelemetryActivityInboundInterceptor(ctx),
            outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
          }),
        ],
        ...(workflowModules && { workflowModules: [WORKFLOW_TRACING_INTERCEPTORS] }),
      },
      sinks: { exporter: makeWorkflowExporter(spanProcessor, resource) },
    }),
    traceRequests: (app) => traceRequests(app, trace.getTracer('durable-calls-gateway')),
    async shutdown() {
      undici.disable();
      await provider.shutdown();
    },
  };
}
