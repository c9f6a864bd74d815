import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
  type Tracer,
} from '@opentelemetry/api';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/**
 * A server span for every request: it continues the caller's trace when the request carries a `traceparent`
 * (a carrier or balancer that traces), and the handler runs inside it, so the Temporal calls it makes are its
 * children. Hooks on the root instance, added before any route or plugin.
 */
export function traceRequests(app: FastifyInstance, tracer: Tracer): void {
  const contexts = new WeakMap<FastifyRequest, Context>();

  app.addHook('onRequest', (request, _reply, done) => {
    const route = request.routeOptions.url;
    const parent = propagation.extract(ROOT_CONTEXT, request.headers);
    const span = tracer.startSpan(
      route ? `${request.method} ${route}` : request.method,
      {
        kind: SpanKind.SERVER,
        attributes: {
          'http.request.method': request.method,
          'url.path': request.url.split('?', 1)[0],
          ...(route && { 'http.route': route }),
        },
      },
      parent,
    );
    contexts.set(request, trace.setSpan(parent, span));
    done();
  });

  // The body is read between onRequest and here, on the socket's own callbacks, outside any context we set: the
  // handler (called synchronously from the last preHandler's `done`) is where the span must be the active one.
  app.addHook('preHandler', (request, _reply, done) => {
    const requestContext = contexts.get(request);
    if (requestContext) context.with(requestContext, done);
    else done();
  });

  app.addHook('onError', (request, _reply, err, done) => {
    const span = trace.getSpan(contexts.get(request) ?? ROOT_CONTEXT);
    span?.recordException(err);
    done();
  });

  app.addHook('onResponse', (request, reply, done) => {
    const span = trace.getSpan(contexts.get(request) ?? ROOT_CONTEXT);
    if (span) {
      span.setAttribute('http.response.status_code', reply.statusCode);
      if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    }
    done();
  });
}
