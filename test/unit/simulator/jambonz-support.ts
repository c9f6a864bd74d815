import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { inboundCallWorkflowId, type CallCommandBody, type CallEvent } from '../../../src/calls';
import type { CarrierRequest } from '../../../src/providers/types';
import {
  applicationHookUrl,
  hookUrl,
  JAMBONZ_HOOK_PATH,
  jambonzAuthHeaders,
  mapCommandToVerbs,
  normaliseJambonzWebhook,
  operationHooks,
  verifyHookToken,
  verifyJambonzSignature,
  type JambonzHook,
  type JambonzVerb,
  type OperationHooks,
} from '../../../src/providers/jambonz';
import { LISTEN_SUBPROTOCOL, type JambonzSimulatorOptions } from '../../../src/simulator';
import { sendJson, startRawJsonService } from './service-support';
import { Arrivals } from './wait';

/**
 * Test helpers for the jambonz simulator: a tiny "our service" that receives every hook, checks it with the
 * adapter's own functions (signature, hook token, normalisation) and answers with whatever the test says;
 * a REST client; and a WebSocket sink standing in for the recording socket `listen` streams to.
 */

export const WEBHOOK_SECRET = 'wh_secret_test-account';
/** The test account and the numbers both jambonz test files call. */
export const ACCOUNT_SID = '5f2ad2e6-3c0a-4b2a-9d3e-7a1f0c2b4d11';
export const API_KEY = 'jambonz-test-key';
export const TIME_SCALE = 0.01;
export const CALLER = '+15550001000';
export const OUR_NUMBER = '+15550009999';
export const AGENT = '+15550002000';
export const BUSY_AGENT = '+15550007000';
export const SILENT_AGENT = '+15550008000';
export const HOOK_TOKEN_SECRET = 'hook-token-secret';

export interface ReceivedHook {
  hook: JambonzHook;
  /** The session named by the hook URL (absent on the application's call and status hooks). */
  workflowId?: string;
  controlId?: string;
  url: string;
  method: string;
  rawBody: Buffer;
  payload: Record<string, unknown>;
  callSid: string;
  signatureOk: boolean;
  tokenOk: boolean;
  /** What the adapter makes of the hook. */
  events: CallEvent[];
  ownerWorkflowId?: string;
}

/** How the service answers a hook: verbs (200 JSON), an HTTP status after a delay, or nothing (200, no body). */
export type HookReply = unknown[] | { status: number; body?: unknown; delayMs?: number } | undefined;
export type HookHandler = (hook: ReceivedHook) => HookReply | Promise<HookReply>;

export interface FakeService {
  /** Base URL, as the gateway's PUBLIC_BASE_URL. */
  readonly baseUrl: string;
  /** Every hook received, in arrival order. */
  readonly received: ReceivedHook[];
  /** Decides the answer to every hook; status hooks are answered 200 whatever it returns. */
  answer: HookHandler;
  hooksOf(callSid: string, hook?: JambonzHook): ReceivedHook[];
  /** The call_status values the status hook received for a call, in order. */
  statuses(callSid: string): string[];
  waitForHook(match: (hook: ReceivedHook) => boolean, timeoutMs?: number): Promise<ReceivedHook>;
  /** The hook URLs of operation `seq` of the session of an inbound call (or of `workflowId`). */
  ops(callSidOrWorkflowId: string, seq: number, recordingStreamUrl?: string): OperationHooks;
  /** The verbs for a neutral command, as the gateway would return them. */
  verbsFor(callSid: string, seq: number, command: CallCommandBody, recordingStreamUrl?: string): JambonzVerb[];
  /** A session-scoped hook URL (e.g. a holding document's `next`). */
  url(callSid: string, hook: JambonzHook, seq?: number): string;
  close(): Promise<void>;
}

function workflowIdOf(callSidOrWorkflowId: string): string {
  return callSidOrWorkflowId.startsWith('call:')
    ? callSidOrWorkflowId
    : inboundCallWorkflowId('jambonz', callSidOrWorkflowId);
}

export async function startFakeService(): Promise<FakeService> {
  const received: ReceivedHook[] = [];
  const arrivals = new Arrivals();
  let baseUrl = '';

  const service: FakeService = {
    get baseUrl() {
      return baseUrl;
    },
    received,
    answer: () => undefined,
    hooksOf: (callSid, hook) =>
      received.filter((h) => h.callSid === callSid && (hook === undefined || h.hook === hook)),
    statuses: (callSid) => service.hooksOf(callSid, 'status').map((h) => String(h.payload.call_status)),
    waitForHook: (match, timeoutMs = 5_000) => arrivals.waitFor(() => received.find(match), timeoutMs, 'a hook'),
    ops(callSidOrWorkflowId, seq, recordingStreamUrl) {
      const workflowId = workflowIdOf(callSidOrWorkflowId);
      return operationHooks({
        publicBaseUrl: baseUrl,
        secret: HOOK_TOKEN_SECRET,
        workflowId,
        controlId: `${workflowId}#${seq}`,
        recordingStreamUrl,
      });
    },
    verbsFor: (callSid, seq, command, recordingStreamUrl) =>
      mapCommandToVerbs(command, service.ops(callSid, seq, recordingStreamUrl)),
    url: (callSid, hook, seq) => {
      const workflowId = workflowIdOf(callSid);
      return hookUrl(
        baseUrl,
        HOOK_TOKEN_SECRET,
        workflowId,
        hook,
        seq === undefined ? undefined : `${workflowId}#${seq}`,
      );
    },
    // `app` is set below, before anyone can close the service.
    close: () => app.close(),
  };

  const handle = async (req: {
    url: string;
    method: string;
    headers: Record<string, string | string[] | undefined>;
    body: unknown;
  }) => {
    const rawBody = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const url = `${baseUrl}${req.url}`;
    const headers = Object.fromEntries(
      Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : v]),
    );
    const token = verifyHookToken(url, [HOOK_TOKEN_SECRET]);
    const payload = (rawBody.length > 0 ? JSON.parse(rawBody.toString('utf8')) : {}) as Record<string, unknown>;
    const hook: ReceivedHook = {
      hook: token.ok ? token.hook : ('?' as JambonzHook),
      ...(token.ok && token.workflowId !== undefined && { workflowId: token.workflowId }),
      ...(token.ok && token.controlId !== undefined && { controlId: token.controlId }),
      url,
      method: req.method,
      rawBody,
      payload,
      callSid: typeof payload.call_sid === 'string' ? payload.call_sid : '',
      signatureOk: verifyJambonzSignature({ headers, rawBody }, [WEBHOOK_SECRET]).ok,
      tokenOk: token.ok,
      events: [],
    };
    if (token.ok && rawBody.length > 0 && typeof payload.call_sid === 'string') {
      const routed = normaliseJambonzWebhook(rawBody, {
        hook: token.hook,
        controlId: token.controlId,
        receivedAt: new Date().toISOString(),
      });
      hook.events = routed.events;
      hook.ownerWorkflowId = token.workflowId ?? routed.ownerWorkflowId;
    }
    received.push(hook);
    arrivals.notify();
    return hook;
  };

  const { app, url } = await startRawJsonService((routes) => {
    routes.route({
      method: ['GET', 'POST'],
      url: JAMBONZ_HOOK_PATH,
      handler: async (req, reply) => {
        const hook = await handle({ url: req.url, method: req.method, headers: req.headers, body: req.body });
        if (hook.hook === 'status') return reply.code(200).send();
        const answer = await service.answer(hook);
        if (answer === undefined) return reply.code(200).send();
        if (Array.isArray(answer)) return reply.code(200).type('application/json').send(JSON.stringify(answer));
        if (answer.delayMs) await new Promise((resolve) => setTimeout(resolve, answer.delayMs));
        return reply
          .code(answer.status)
          .type('application/json')
          .send(answer.body === undefined ? '' : JSON.stringify(answer.body));
      },
    });
  });
  baseUrl = url;
  return service;
}

export interface ApiAnswer {
  status: number;
  body: unknown;
  text: string;
}

/** Calls the simulator's REST API like our activities do: Bearer key, JSON body. */
export class JambonzApi {
  constructor(
    private readonly baseUrl: string,
    private readonly apiKey: string | undefined,
  ) {}

  async send(carrierRequest: Pick<CarrierRequest, 'method' | 'path' | 'body'>): Promise<ApiAnswer> {
    const auth = this.apiKey === undefined ? {} : jambonzAuthHeaders(this.apiKey);
    const { status, text } = await sendJson(
      `${this.baseUrl}${carrierRequest.path}`,
      carrierRequest.method,
      auth,
      carrierRequest.body,
    );
    let body: unknown = undefined;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    return { status, body, text };
  }
}

export interface SinkConnection {
  protocol?: string;
  /** The JSON of the first (text) frame. */
  metadata?: Record<string, unknown>;
  audioBytes: number;
  closed: boolean;
}

export interface AudioSink {
  url: string;
  connections: SinkConnection[];
  close(): Promise<void>;
}

const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/**
 * A WebSocket server just big enough to receive a `listen` stream: it accepts the upgrade (echoing the
 * subprotocol), reads the client's masked frames, keeps the first text frame and counts binary bytes.
 */
export async function startAudioSink(): Promise<AudioSink> {
  const connections: SinkConnection[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((_req, res) => res.writeHead(426).end());
  server.on('upgrade', (req: IncomingMessage, socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined); // a stream closed while connecting resets the socket
    const key = String(req.headers['sec-websocket-key']);
    const protocol = req.headers['sec-websocket-protocol'];
    const accept = createHash('sha1').update(`${key}${WEBSOCKET_GUID}`).digest('base64');
    socket.write(
      [
        'HTTP/1.1 101 Switching Protocols',
        'Upgrade: websocket',
        'Connection: Upgrade',
        `Sec-WebSocket-Accept: ${accept}`,
      ]
        .concat(protocol === LISTEN_SUBPROTOCOL ? [`Sec-WebSocket-Protocol: ${protocol}`] : [])
        .join('\r\n') + '\r\n\r\n',
    );
    const connection: SinkConnection = {
      protocol: typeof protocol === 'string' ? protocol : undefined,
      audioBytes: 0,
      closed: false,
    };
    connections.push(connection);
    let buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        const frame = readFrame(buffer);
        if (frame === undefined) return;
        buffer = buffer.subarray(frame.length);
        if (frame.opcode === 1)
          connection.metadata = JSON.parse(frame.payload.toString('utf8')) as Record<string, unknown>;
        else if (frame.opcode === 2 || frame.opcode === 0) connection.audioBytes += frame.payload.length;
        else if (frame.opcode === 8) {
          connection.closed = true;
          socket.end(Buffer.from([0x88, 0x00]));
          return;
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/recordings`,
    connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** One masked client frame from the front of `buffer`, or undefined if it has not fully arrived. */
function readFrame(buffer: Buffer): { opcode: number; payload: Buffer; length: number } | undefined {
  if (buffer.length < 2) return undefined;
  const opcode = buffer[0] & 0x0f;
  let length = buffer[1] & 0x7f;
  let offset = 2;
  if (length === 126) {
    if (buffer.length < 4) return undefined;
    length = buffer.readUInt16BE(2);
    offset = 4;
  } else if (length === 127) {
    if (buffer.length < 10) return undefined;
    length = Number(buffer.readBigUInt64BE(2));
    offset = 10;
  }
  const masked = (buffer[1] & 0x80) !== 0;
  const maskOffset = offset;
  if (masked) offset += 4;
  if (buffer.length < offset + length) return undefined;
  const payload = Buffer.from(buffer.subarray(offset, offset + length));
  if (masked) for (let i = 0; i < payload.length; i++) payload[i] ^= buffer[maskOffset + (i % 4)];
  return { opcode, payload, length: offset + length };
}

export { sleep } from './wait';

/** Simulator options for the test account, with `service` as the application; `overrides` win. */
export function jambonzOptions(
  service: FakeService,
  overrides: Partial<JambonzSimulatorOptions> = {},
): JambonzSimulatorOptions {
  return {
    callHookUrl: applicationHookUrl(service.baseUrl, 'call'),
    statusHookUrl: applicationHookUrl(service.baseUrl, 'status'),
    accountSid: ACCOUNT_SID,
    apiKey: API_KEY,
    webhookSecret: WEBHOOK_SECRET,
    timeScale: TIME_SCALE,
    ...overrides,
  };
}
