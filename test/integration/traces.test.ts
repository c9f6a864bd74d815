import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tracedBundlePath, bundleWorkflowsToFile } from '../../worker/bundle';
import { eventually } from '../support/net';
import { startTestStack, testWorkflowBundle, type TestStack } from '../support/stack';

/**
 * Traces (src/telemetry): one call, from the carrier's webhook to the carrier request an activity makes, is one
 * trace. The gateway and the worker export OTLP/HTTP (JSON) to a receiver here on loopback.
 */

interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  /** OTLP's SpanKind: 2 server, 3 client. */
  kind: number;
  attributes: Record<string, unknown>;
}

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
}
interface OtlpAttribute {
  key: string;
  value: OtlpValue;
}
interface OtlpTraces {
  resourceSpans: Array<{
    resource: { attributes: OtlpAttribute[] };
    scopeSpans: Array<{
      spans: Array<{
        traceId: string;
        spanId: string;
        parentSpanId?: string;
        name: string;
        kind: number;
        attributes: OtlpAttribute[];
      }>;
    }>;
  }>;
}

const attributes = (list: OtlpAttribute[]) =>
  Object.fromEntries(list.map(({ key, value }) => [key, value.stringValue ?? value.intValue ?? value.boolValue]));

/** An OTLP/HTTP trace receiver: collects every span posted to `/v1/traces`. */
async function startReceiver(): Promise<{
  url: string;
  spans: ReceivedSpan[];
  contentTypes: Set<string>;
  server: Server;
}> {
  const spans: ReceivedSpan[] = [];
  const contentTypes = new Set<string>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      contentTypes.add(req.headers['content-type'] ?? '');
      if (req.method !== 'POST' || req.url !== '/v1/traces') return void res.writeHead(404).end();
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpTraces;
      for (const { resource, scopeSpans } of body.resourceSpans) {
        const service = String(attributes(resource.attributes)['service.name']);
        for (const scope of scopeSpans) {
          for (const span of scope.spans) {
            spans.push({
              service,
              traceId: span.traceId,
              spanId: span.spanId,
              parentSpanId: span.parentSpanId || undefined,
              name: span.name,
              kind: span.kind,
              attributes: attributes(span.attributes),
            });
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, spans, contentTypes, server };
}

/** The span and its ancestors, nearest first, as far as the received spans go. */
function ancestry(spans: ReceivedSpan[], span: ReceivedSpan): ReceivedSpan[] {
  const chain = [span];
  for (let parent = span.parentSpanId; parent; ) {
    const next = spans.find((s) => s.spanId === parent && s.traceId === span.traceId);
    if (!next) break;
    chain.push(next);
    parent = next.parentSpanId;
  }
  return chain;
}

/** Quick-exporting settings: the batch goes out 100 ms after a span ends instead of 5 s. */
const EXPORT_FAST = { OTEL_BSP_SCHEDULE_DELAY: '100' };

describe('OpenTelemetry traces', () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let stack: TestStack | undefined;
  beforeAll(async () => {
    receiver = await startReceiver();
    // The traced variant of the run's workflow bundle, which the worker picks when tracing is on (worker/main.ts).
    const traced = tracedBundlePath(await testWorkflowBundle());
    if (!existsSync(traced)) await bundleWorkflowsToFile(traced, { traced: true });
  });
  afterEach(async () => {
    if (expect.getState().assertionCalls !== expect.getState().numPassingAsserts) console.log(stack?.output.join('\n'));
    await stack?.close();
    stack = undefined;
  });
  afterAll(async () => {
    await new Promise((resolve) => receiver.server.close(resolve));
  });

  it('joins one call under one trace: webhook, signal-with-start, workflow, activity, carrier request', async () => {
    stack = await startTestStack({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, ...EXPORT_FAST } });
    const caller = await stack.telnyx.placeCall({ from: '+15557770101', to: '+15550001000', hangupAfterMs: 200 });
    await stack.telnyx.waitForEnd(caller.callControlId);
    await stack.outcome(caller.workflowId);

    const simulator = new URL(stack.simulatorUrls.telnyx ?? '');
    const isCarrierRequest = (s: ReceivedSpan) =>
      s.service === 'durable-calls-worker' &&
      s.kind === 3 &&
      String(s.attributes['url.full']).startsWith(simulator.origin);
    const start = await eventually('the gateway to export its signal-with-start', () =>
      receiver.spans.find(
        (s) => s.name.startsWith('SignalWithStartWorkflow:') && s.attributes.temporalWorkflowId === caller.workflowId,
      ),
    );
    // The run's span ends with the call; the worker exports it with its batch shortly after.
    const run = await eventually('the workflow run span', () =>
      receiver.spans.find((s) => s.name.startsWith('RunWorkflow:') && s.traceId === start.traceId),
    );
    const requests = receiver.spans.filter((s) => isCarrierRequest(s) && s.traceId === run.traceId);
    expect(requests.length).toBeGreaterThan(0);

    const chain = ancestry(receiver.spans, requests[0]);
    console.log(
      `one call's trace ${run.traceId}:\n` +
        chain
          .slice()
          .reverse()
          .map((s, depth) => `${'  '.repeat(depth)}${s.name}  [${s.service}]`)
          .join('\n'),
    );
    expect(chain.map((s) => [s.service, s.name.replace(/:.*/, '')])).toEqual([
      ['durable-calls-worker', requests[0].name],
      ['durable-calls-worker', 'RunActivity'],
      ['durable-calls-worker', 'StartActivity'],
      ['durable-calls-worker', 'RunWorkflow'],
      ['durable-calls-gateway', 'SignalWithStartWorkflow'],
      ['durable-calls-gateway', 'POST /webhooks/telnyx'],
    ]);
    const [webhook] = chain.slice(-1);
    expect(webhook).toMatchObject({
      kind: 2,
      parentSpanId: undefined,
      attributes: { 'http.response.status_code': 200 },
    });
    expect(receiver.contentTypes).toEqual(new Set(['application/json']));
  });

  it('sends nothing when tracing is off, even with an endpoint set', async () => {
    const before = receiver.spans.length;
    stack = await startTestStack({
      env: { OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, ...EXPORT_FAST },
    });
    const caller = await stack.telnyx.placeCall({ from: '+15557770102', to: '+15550001000', hangupAfterMs: 200 });
    await stack.telnyx.waitForEnd(caller.callControlId);
    await stack.outcome(caller.workflowId);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(receiver.spans.length).toBe(before);
  });
});
