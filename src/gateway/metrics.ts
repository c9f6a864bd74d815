import { AsyncLocalStorage } from 'node:async_hooks';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import { PROVIDERS, type Provider } from '../calls';
import type { Sessions } from './sessions';

/**
 * The gateway's Prometheus metrics (prom-client), served on `GET /metrics`. Webhooks are counted by one
 * `onResponse` hook keyed by route (the carrier plugins stay as they are); hand-over latency and holds are
 * measured where the gateway meets Temporal, by wrapping `Sessions`. One registry per app, so several gateways
 * in one process (tests) keep their own figures.
 */

/** What became of a webhook, from its reply. */
export const WebhookOutcome = {
  /** Answered 2xx: Temporal has its events (or, late, the session had ended), or the flow's next document. */
  Ok: 'ok',
  /** Answered 2xx with a holding document: the flow was slow, or Temporal did not take the request in time. */
  Held: 'held',
  /** 401 for a bad signature. */
  InvalidSignature: 'invalid_signature',
  /** 401 for a bad or missing token in the URL we handed out. */
  Unauthorized: 'unauthorized',
  /** 400: not a payload of that carrier. */
  Malformed: 'malformed',
  /** 503: Temporal did not take the events; the carrier retries. */
  Unavailable: 'unavailable',
  /** Any other 4xx. */
  Rejected: 'rejected',
  /** Any other 5xx. */
  Error: 'error',
} as const;
export type WebhookOutcome = (typeof WebhookOutcome)[keyof typeof WebhookOutcome];

/** Why a holding document went out. */
export const HoldReason = {
  /** The session did not decide within the wait (a slow or restarting worker). */
  FlowSlow: 'flow_slow',
  /** Temporal did not take the request within the carrier's deadline: the hold's URL carries the events. */
  TemporalUnavailable: 'temporal_unavailable',
} as const;
export type HoldReason = (typeof HoldReason)[keyof typeof HoldReason];

export interface GatewayMetrics {
  readonly registry: Registry;
  readonly webhooks: Counter<'carrier' | 'outcome'>;
  readonly signatureFailures: Counter<'carrier'>;
  readonly deadlineMisses: Counter<'carrier'>;
  readonly holds: Counter<'carrier' | 'reason'>;
  readonly handover: Histogram<'carrier' | 'rpc' | 'result'>;
  readonly restRequests: Counter<'method' | 'route' | 'status'>;
  readonly restDuration: Histogram<'method' | 'route'>;
}

export function createGatewayMetrics(options: { processMetrics?: boolean } = {}): GatewayMetrics {
  const registry = new Registry();
  // Process figures (CPU, memory, event loop lag, GC): on in the real gateway, off where many apps share a process.
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    webhooks: new Counter({
      name: 'durable_calls_webhooks_total',
      help: 'Carrier webhooks answered, by carrier and outcome',
      labelNames: ['carrier', 'outcome'],
      registers,
    }),
    signatureFailures: new Counter({
      name: 'durable_calls_webhook_signature_failures_total',
      help: 'Webhooks refused for a bad signature (forged, or a wrong key configured)',
      labelNames: ['carrier'],
      registers,
    }),
    deadlineMisses: new Counter({
      name: 'durable_calls_webhook_deadline_misses_total',
      help: "Webhooks answered after the carrier's deadline (it has given up on them by then)",
      labelNames: ['carrier'],
      registers,
    }),
    holds: new Counter({
      name: 'durable_calls_holds_served_total',
      help: 'Holding documents served to document carriers, by reason',
      labelNames: ['carrier', 'reason'],
      registers,
    }),
    handover: new Histogram({
      name: 'durable_calls_handover_seconds',
      help: 'Time for Temporal to take an event: signal, signal-with-start, nextDocument update (which includes the flow deciding), start',
      labelNames: ['carrier', 'rpc', 'result'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    restRequests: new Counter({
      name: 'durable_calls_rest_requests_total',
      help: 'REST API requests, by method, route pattern and status',
      labelNames: ['method', 'route', 'status'],
      registers,
    }),
    restDuration: new Histogram({
      name: 'durable_calls_rest_request_duration_seconds',
      help: 'REST API response time, by method and route pattern',
      labelNames: ['method', 'route'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
  };
}

/** Marks of one request that only the code talking to Temporal sees. */
interface RequestMarks {
  hold?: HoldReason;
  temporalFailed?: boolean;
  invalidSignature?: boolean;
}

/** The request a `Sessions` call is made for; entered before each handler runs. */
const currentRequest = new AsyncLocalStorage<RequestMarks>();
const marksOf = new WeakMap<FastifyRequest, RequestMarks>();

const PATHS_NOT_COUNTED = new Set(['/metrics', '/healthz', '/readyz']);

const carrierOfRoute = (route: string): Provider | undefined => {
  const match = /^\/webhooks\/([a-z]+)/.exec(route);
  return match && (PROVIDERS as readonly string[]).includes(match[1]) ? (match[1] as Provider) : undefined;
};

/** `call:<provider>:…` and the like name their carrier; anything else is counted as `none`. */
const carrierOfWorkflow = (workflowId: string): string => {
  const provider = workflowId.split(':')[1];
  return (PROVIDERS as readonly string[]).includes(provider) ? provider : 'none';
};

function outcomeOf(status: number, marks: RequestMarks): WebhookOutcome {
  if (status < 300) return marks.hold ? WebhookOutcome.Held : WebhookOutcome.Ok;
  if (status === 401) return marks.invalidSignature ? WebhookOutcome.InvalidSignature : WebhookOutcome.Unauthorized;
  if (status === 400) return WebhookOutcome.Malformed;
  if (status === 503) return WebhookOutcome.Unavailable;
  return status >= 500 ? WebhookOutcome.Error : WebhookOutcome.Rejected;
}

/**
 * The hooks that count requests, on the root instance so they see every route. `deadlines` are the carriers'
 * answer budgets (ms): a webhook answered later than its carrier's is a deadline miss.
 */
export function instrumentGateway(
  app: FastifyInstance,
  metrics: GatewayMetrics,
  deadlines: Partial<Record<Provider, number>>,
): void {
  app.addHook('preHandler', (request, _reply, done) => {
    const marks: RequestMarks = {};
    marksOf.set(request, marks);
    // Everything the handler starts (the Sessions calls) runs inside this request's marks.
    currentRequest.run(marks, done);
  });
  // Webhook refusals are `{ error, reason }` objects: the signature failures are told apart before serialising.
  app.addHook('preSerialization', async (request, reply, payload) => {
    if (reply.statusCode === 401 && (payload as { error?: unknown } | null)?.error === 'invalid signature') {
      const marks = marksOf.get(request);
      if (marks) marks.invalidSignature = true;
    }
    return payload;
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url;
    const status = reply.statusCode;
    const carrier = route === undefined ? undefined : carrierOfRoute(route);
    if (carrier) {
      const marks = marksOf.get(request) ?? {};
      const outcome = outcomeOf(status, marks);
      metrics.webhooks.inc({ carrier, outcome });
      if (outcome === WebhookOutcome.InvalidSignature) metrics.signatureFailures.inc({ carrier });
      if (outcome === WebhookOutcome.Held) metrics.holds.inc({ carrier, reason: marks.hold });
      const deadline = deadlines[carrier];
      if (deadline !== undefined && reply.elapsedTime > deadline) metrics.deadlineMisses.inc({ carrier });
      return;
    }
    if (route !== undefined && PATHS_NOT_COUNTED.has(route)) return;
    const labels = { method: request.method, route: route ?? 'unmatched' };
    metrics.restRequests.inc({ ...labels, status: String(status) });
    metrics.restDuration.observe(labels, reply.elapsedTime / 1000);
  });
}

/**
 * `Sessions` that time every hand-over to Temporal and tell the request whether it ended in a hold: a
 * `nextDocument` answered `hold` (the flow was slow), or one that threw (Temporal did not take it; if the route
 * still answers 2xx, that answer is a hold carrying the events).
 */
export function instrumentSessions(sessions: Sessions, metrics: GatewayMetrics): Sessions {
  async function timed<T>(
    rpc: string,
    workflowId: string,
    call: () => Promise<T>,
    resultOf: (value: T) => string,
  ): Promise<T> {
    const end = metrics.handover.startTimer({ carrier: carrierOfWorkflow(workflowId), rpc });
    try {
      const value = await call();
      end({ result: resultOf(value) });
      return value;
    } catch (err) {
      end({ result: 'failed' });
      throw err;
    }
  }
  const delivery = (d: { outcome: string }) => d.outcome;
  return {
    ...sessions,
    signal: (workflowId, ...rest) => timed('signal', workflowId, () => sessions.signal(workflowId, ...rest), delivery),
    signalWithStart: (workflowId, ...rest) =>
      timed('signalWithStart', workflowId, () => sessions.signalWithStart(workflowId, ...rest), delivery),
    start: (workflowId, input) =>
      timed(
        'start',
        workflowId,
        () => sessions.start(workflowId, input),
        (r) => (r.started ? 'started' : 'existing'),
      ),
    nextDocument: async (workflowId, ...rest) => {
      const marks = currentRequest.getStore();
      // Until the session answers, a reply the route sends is a hold with the events in its URL: the route may
      // give up on the update at its deadline (and answer) before this call has settled.
      if (marks) marks.hold = HoldReason.TemporalUnavailable;
      const answer = await timed(
        'nextDocument',
        workflowId,
        () => sessions.nextDocument(workflowId, ...rest),
        (a) => a.kind,
      );
      if (marks) marks.hold = answer.kind === 'hold' ? HoldReason.FlowSlow : undefined;
      return answer;
    },
  };
}
