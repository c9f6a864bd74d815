import type { FastifyInstance } from 'fastify';
import {
  commandKey,
  inboundCallWorkflowId,
  type CallCommand,
  type CallCommandBody,
  type CallEvent,
} from '../../../src/calls';
import {
  callbackOwner,
  documentForCommand,
  documentUrl,
  hangupDocument,
  holdingDocument,
  normaliseDocumentRequest,
  normaliseStatusCallback,
  signalwireAuthorization,
  statusCallbackUrl,
  verifySignalWireSignature,
  type CallbackConfig,
  type DocumentFetch,
  type SwmlDocument,
} from '../../../src/providers/signalwire';
import type { VerifyResult } from '../../../src/providers/types';
import { blankPdf, type SignalWireSimulatorOptions } from '../../../src/simulator';
import { sendJson, startRawJsonService } from './service-support';
import { Arrivals } from './wait';

/**
 * "Our service" for the SignalWire simulator tests: a small fastify app that does what the gateway will do,
 * with the adapter's own functions. It verifies every SWML fetch's signature, reads it with
 * `normaliseDocumentRequest`, and answers with the next step of a scripted flow (`documentForCommand`,
 * each ending in the hand-back); status callbacks are checked by their URL token and normalised. It also
 * serves PDFs to fax (`/docs/<pages>.pdf`).
 */

export const SIGNING_KEY = 'PSK_test_signing_key';
export const PROJECT_ID = '4d0d6f16-5881-4fcc-92a4-02c51a91954d';
export const API_TOKEN = 'PT_test_token';
const SECRET = 'callback-token-secret';
export const TIME_SCALE = 0.01;

/** Simulator options for the test project, at the test's time scale, fetching documents from `service`. */
export function signalwireOptions(service: OurService): SignalWireSimulatorOptions {
  return {
    swmlUrl: service.swmlUrl,
    projectId: PROJECT_ID,
    apiToken: API_TOKEN,
    signingKey: SIGNING_KEY,
    timeScale: TIME_SCALE,
  };
}

/** What a hand-written step gets to build its document from. */
export interface StepContext {
  callId: string;
  workflowId: string;
  /** The step's command key (the hand-back's `step`). */
  key: string;
  statusUrl: string;
  documentUrl: string;
}

/**
 * One step of a flow: a flow operation (turned into its document by `documentForCommand`), `hold` (the
 * holding document), or a document built by hand.
 */
export type FlowStep = CallCommandBody | 'hold' | ((context: StepContext) => SwmlDocument);

export interface ReceivedFetch {
  callId: string;
  url: string;
  headers: Record<string, string | undefined>;
  raw: Buffer;
  body: {
    call: Record<string, unknown>;
    vars: Record<string, string>;
    envs: Record<string, string>;
    params: Record<string, unknown>;
  };
  verified: VerifyResult;
  fetch: DocumentFetch;
  /** The document answered. */
  answered: SwmlDocument;
}

export interface ReceivedCallback {
  url: string;
  headers: Record<string, string | undefined>;
  raw: Buffer;
  body: { event_type: string; params: Record<string, unknown> };
  ownerWorkflowId?: string;
  events: CallEvent[];
  /** The HTTP status answered. */
  answered: number;
}

export class OurService {
  readonly fetches: ReceivedFetch[] = [];
  readonly callbacks: ReceivedCallback[] = [];
  private readonly plans = new Map<string, FlowStep[][]>();
  private readonly flows = new Map<string, FlowStep[]>();
  /** Operation sequence numbers per workflow, for command keys. */
  private readonly sequences = new Map<string, number>();
  private readonly staticDocuments = new Map<string, { contentType: string; text: string }>();
  private failures = { fetch: 0, callback: 0, status: 503 };
  private readonly arrivals = new Arrivals();

  private app?: FastifyInstance;
  /** http://127.0.0.1:PORT, known once listening. */
  url = '';

  private constructor() {}

  static async start(): Promise<OurService> {
    const service = new OurService();
    const { app, url } = await startRawJsonService((routes) => service.routes(routes));
    service.app = app;
    service.url = url;
    return service;
  }

  get callbacksConfig(): CallbackConfig {
    return { publicBaseUrl: this.url, secret: SECRET };
  }

  get swmlUrl(): string {
    return `${this.url}/webhooks/signalwire/swml`;
  }

  /** The document URL of a session, as dials and hand-backs use it. */
  documentUrl(workflowId: string): string {
    return documentUrl(this.url, SECRET, workflowId);
  }

  /** The status URL of a session, as its commands' `status_url`. */
  statusUrl(workflowId: string): string {
    return statusCallbackUrl(this.url, SECRET, workflowId);
  }

  /** The flow the next call to (or from our side, dialed to) `number` follows; steps run out into a hang-up. */
  plan(number: string, steps: FlowStep[]): void {
    const queue = this.plans.get(number) ?? [];
    queue.push(steps);
    this.plans.set(number, queue);
  }

  /** Answer the next `count` SWML fetches / status callbacks with `status`. */
  failNext(kind: 'fetch' | 'callback', count: number, status = 503): void {
    this.failures = { ...this.failures, [kind]: count, status };
  }

  fetchesOf(callId: string): ReceivedFetch[] {
    return this.fetches.filter((f) => f.callId === callId);
  }

  /** Accepted callbacks about a call (by `params.call_id`), optionally of one event type. */
  callbacksOf(callId: string, eventType?: string): ReceivedCallback[] {
    return this.callbacks.filter(
      (c) =>
        c.answered < 300 &&
        c.body.params.call_id === callId &&
        (eventType === undefined || c.body.event_type === eventType),
    );
  }

  /** Normalised events of a call, from callbacks and hand-backs, in arrival order. */
  eventsOf(callId: string): CallEvent[] {
    return [
      ...this.fetchesOf(callId).flatMap((f) => f.fetch.events),
      ...this.callbacksOf(callId).flatMap((c) => c.events),
    ];
  }

  waitFor<T>(find: () => T | undefined, timeoutMs = 5_000): Promise<T> {
    return this.arrivals.waitFor(find, timeoutMs, 'our service to receive something');
  }

  /** The hand-back fetch after step `op` of a call. */
  handBack(callId: string, op: string): Promise<ReceivedFetch> {
    return this.waitFor(() => this.fetchesOf(callId).find((f) => f.fetch.step?.op === op));
  }

  close(): Promise<void> {
    return this.app?.close() ?? Promise.resolve();
  }

  private wake(): void {
    this.arrivals.notify();
  }

  private routes(app: FastifyInstance): void {
    app.post('/webhooks/signalwire/swml', async (request, reply) => {
      const raw = request.body as Buffer;
      const url = `${this.url}${request.url}`;
      const headers = request.headers as Record<string, string | undefined>;
      if (this.failures.fetch > 0) {
        this.failures.fetch--;
        return reply.code(this.failures.status).send();
      }
      const verified = verifySignalWireSignature({ url, headers, rawBody: raw }, SIGNING_KEY);
      const fetch = normaliseDocumentRequest(raw, new Date().toISOString());
      const owner = callbackOwner(url, SECRET);
      const workflowId = (owner.ok && owner.workflowId) || inboundCallWorkflowId('signalwire', fetch.callId);
      const answered = this.nextDocument(fetch, workflowId);
      this.fetches.push({
        callId: fetch.callId,
        url,
        headers,
        raw,
        body: JSON.parse(raw.toString('utf8')),
        verified,
        fetch,
        answered,
      });
      this.wake();
      return reply.type('application/json').send(JSON.stringify(answered));
    });
    app.post('/webhooks/signalwire/status', async (request, reply) => {
      const raw = request.body as Buffer;
      const url = `${this.url}${request.url}`;
      const owner = callbackOwner(url, SECRET);
      let answered = owner.ok ? 200 : 403;
      if (this.failures.callback > 0 && answered === 200) {
        this.failures.callback--;
        answered = this.failures.status;
      }
      this.callbacks.push({
        url,
        headers: request.headers as Record<string, string | undefined>,
        raw,
        body: JSON.parse(raw.toString('utf8')),
        ownerWorkflowId: owner.ok ? owner.workflowId : undefined,
        events: normaliseStatusCallback(raw),
        answered,
      });
      this.wake();
      return reply.code(answered).send();
    });
    app.all('/static/:name', async (request, reply) => {
      const document = this.staticDocuments.get((request.params as { name: string }).name);
      return document ? reply.type(document.contentType).send(document.text) : reply.code(404).send();
    });
    app.get('/docs/:file', async (request, reply) => {
      const pages = Number(/^(\d+)\.pdf$/.exec((request.params as { file: string }).file)?.[1]);
      return Number.isInteger(pages) && pages > 0
        ? reply.type('application/pdf').send(blankPdf(pages))
        : reply.code(404).send();
    });
  }

  private nextDocument(fetch: DocumentFetch, workflowId: string): SwmlDocument {
    let steps = this.flows.get(fetch.callId);
    if (!steps) {
      steps = this.plans.get(fetch.to)?.shift() ?? [];
      this.flows.set(fetch.callId, steps);
    }
    const step = steps.shift();
    if (step === undefined) return hangupDocument('hangup');
    const documentUrl = this.documentUrl(workflowId);
    if (step === 'hold') return holdingDocument({ documentUrl, answered: fetch.callState === 'answered' });
    const sequence = (this.sequences.get(workflowId) ?? 0) + 1;
    this.sequences.set(workflowId, sequence);
    const key = commandKey(workflowId, sequence);
    if (typeof step === 'function') {
      return step({ callId: fetch.callId, workflowId, key, documentUrl, statusUrl: this.statusUrl(workflowId) });
    }
    const command = { ...step, callId: fetch.callId, commandKey: key, ownerWorkflowId: workflowId } as CallCommand;
    return documentForCommand(command, this.callbacksConfig);
  }

  /** Serves `text` at `<url>/static/<name>` (any method), e.g. a YAML document for a dial's `url`. */
  serve(name: string, contentType: string, text: string): string {
    this.staticDocuments.set(name, { contentType, text });
    return `${this.url}/static/${name}`;
  }
}

export interface CallingResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown> & { errors?: Array<Record<string, unknown>>; error?: string };
}

/** Calls the simulator's Calling API the way the activities do: Basic auth, JSON body. */
export class CallingClient {
  constructor(
    private readonly baseUrl: string,
    private readonly authorization: string | undefined = signalwireAuthorization(PROJECT_ID, API_TOKEN),
  ) {}

  async send(body: unknown, path = '/api/calling/calls', method: 'GET' | 'POST' = 'POST'): Promise<CallingResponse> {
    const auth: Record<string, string> = this.authorization ? { authorization: this.authorization } : {};
    const answer = await sendJson(`${this.baseUrl}${path}`, method, auth, method === 'POST' ? body : undefined);
    return { status: answer.status, headers: answer.headers, body: answer.text ? JSON.parse(answer.text) : {} };
  }

  command(command: string, callId: string, params: Record<string, unknown> = {}): Promise<CallingResponse> {
    return this.send({ command, id: callId, params });
  }
}

export { sleep } from './wait';
