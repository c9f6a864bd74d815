import { randomBytes, randomUUID } from 'node:crypto';
import type { AgentScript, CallerScript } from '../scripts';
import type { HookClient, HookTarget } from './hooks';
import type { SimClock, Timers } from '../clock';
import type { JambonzCallRecord, JambonzCallStatus, JambonzStreamRecord } from './types';

/**
 * A call leg as the feature server knows it (its CallInfo), plus what the simulator observed on it.
 * Payload builders produce what jambonz sends: CallInfo in camelCase, snake_cased on the way out.
 */

/** The simulated network: this feature server, the SBC in front of it and the carrier behind that. */
export const FS_SIP_ADDRESS = '10.0.1.5:5070';
const SBC_ADDRESS = '10.0.1.2:5060';
const CARRIER_ADDRESS = '203.0.113.10';
const CARRIER_TRUNK = 'simulated-carrier';
const SERVICE_PROVIDER_SID = '2708b1b3-2736-40ea-b502-c53d8396247f';

/** Who is on the far end of a leg: a scripted caller (inbound) or a scripted agent (legs jambonz dials). */
export type FarEnd = { kind: 'caller'; script: CallerScript } | { kind: 'agent'; script: AgentScript };

/** What every payload of the account carries. */
export interface AccountContext {
  accountSid: string;
  applicationSid: string;
  /** The api server's base URL, sent as `api_base_url` (JAMBONES_API_BASE_URL). */
  apiBaseUrl: string;
}

export type CallTerminationBy = 'caller' | 'jambonz';

/**
 * The session running a call's verbs (`FeatureServerSession`), as the call, the engine and the API see it. An
 * interface here so that call.ts needs nothing from session.ts, which builds on it.
 */
export interface VerbLoop {
  readonly call: SimCall;
  /** The verb loop has ended: jambonz has dropped the session, so Live Call Control answers 422. */
  readonly loopDone: boolean;
  readonly finished: Promise<void>;
  farEndHangsUp(note: string): void;
  updateCall(body: Record<string, unknown>, targetCallSid: string): Promise<void>;
  close(): void;
}

/**
 * What legs and sessions ask of the simulator that holds the calls (`CallEngine` implements it), so they do
 * not import the engine, which imports them.
 */
export interface CallHost {
  readonly account: AccountContext;
  readonly clock: SimClock;
  readonly hooks: HookClient;
  readonly log: (line: string) => void;
  /** Timers cancelled when the simulator closes. */
  newTimers(): Timers;
  agentFor(target: string): AgentScript;
  changeStatus(call: SimCall, status: JambonzCallStatus, sipStatus: number, sipReason: string): void;
  endAnswered(call: SimCall, by: 'caller' | 'jambonz', note: string): void;
}

export class SimCall {
  readonly callSid = randomUUID();
  readonly callId = `${randomUUID()}@${FS_SIP_ADDRESS.split(':')[0]}`;
  readonly sbcCallId = randomUUID();
  readonly traceId = randomBytes(16).toString('hex');
  status: JambonzCallStatus = 'trying';
  sipStatus = 100;
  sipReason = 'Trying';
  answeredAt?: number;
  endedAt?: number;
  callTerminationBy?: CallTerminationBy;
  durationSeconds?: number;
  customerData?: Record<string, unknown>;
  /** The api server's Redis record exists once the first status was written (not for a call rejected at its first hook). */
  hasRecord = false;
  /** `completed` is reported once, however many paths end the call. */
  notifiedComplete = false;
  /** The caller cancelled while the first hook was in flight. */
  cancelledEarly = false;
  readonly heard: string[] = [];
  digitsPressed = '';
  dtmfSent = '';
  readonly streams: JambonzStreamRecord[] = [];
  readonly verbs: string[] = [];
  readonly milestones: string[] = [];
  queue?: string;
  bridgedWith?: SimCall;
  lastBridgedWith?: SimCall;
  /** Where this leg's call:status notifications go (the application's, or one a `redirect` set). */
  statusHook?: HookTarget;
  /** The session running this leg's verbs (inbound calls, answered REST calls, dialed legs that were redirected). */
  session?: VerbLoop;
  /** A dialed leg while bridged: Live Call Control on it reaches its parent's session (jambonz's session tracker). */
  hostSession?: VerbLoop;
  readonly endWaiters: Array<() => void> = [];

  constructor(
    readonly direction: 'inbound' | 'outbound',
    readonly from: string,
    readonly to: string,
    readonly farEnd: FarEnd,
    readonly parentCallSid?: string,
  ) {}

  get answered(): boolean {
    return this.answeredAt !== undefined;
  }

  get ended(): boolean {
    return this.endedAt !== undefined;
  }

  /** The far end's number, as a person would name the call. */
  get party(): string {
    return this.direction === 'inbound' ? this.from : this.to;
  }

  /** Marks the leg over (whether or not jambonz reported it) and wakes whoever waits for that. */
  markEnded(note: string): void {
    if (this.ended) return;
    this.endedAt = Date.now();
    this.milestones.push(note);
    if (this.bridgedWith) {
      this.lastBridgedWith = this.bridgedWith;
      this.bridgedWith = undefined;
    }
    this.endWaiters.splice(0).forEach((wake) => wake());
  }

  /** CallInfo.toJSON(): what every hook, status notification and stream metadata says about the leg. */
  callInfo(account: AccountContext): Record<string, unknown> {
    return {
      callSid: this.callSid,
      direction: this.direction,
      from: this.from,
      to: this.to,
      callId: this.callId,
      sbcCallid: this.sbcCallId,
      sipStatus: this.sipStatus,
      sipReason: this.sipReason,
      callStatus: this.status,
      ...(this.parentCallSid !== undefined && { callerId: this.from }),
      accountSid: account.accountSid,
      traceId: this.traceId,
      applicationSid: account.applicationSid,
      fsSipAddress: FS_SIP_ADDRESS,
      ...(this.parentCallSid !== undefined && { parentCallSid: this.parentCallSid }),
      ...(this.direction === 'inbound' && {
        originatingSipIp: CARRIER_ADDRESS,
        originatingSipTrunkName: CARRIER_TRUNK,
      }),
      ...(this.callTerminationBy !== undefined && { callTerminationBy: this.callTerminationBy }),
      ...(this.durationSeconds !== undefined && { duration: this.durationSeconds }),
      ...(this.customerData !== undefined && { customerData: this.customerData }),
      apiBaseUrl: account.apiBaseUrl,
    };
  }

  record(): JambonzCallRecord {
    return {
      callSid: this.callSid,
      callId: this.callId,
      direction: this.direction,
      from: this.from,
      to: this.to,
      ...(this.parentCallSid !== undefined && { parentCallSid: this.parentCallSid }),
      status: this.status,
      sipStatus: this.sipStatus,
      answered: this.answered,
      ended: this.ended,
      ...(this.callTerminationBy !== undefined && { callTerminationBy: this.callTerminationBy }),
      ...(this.durationSeconds !== undefined && { durationSeconds: this.durationSeconds }),
      ...(this.customerData !== undefined && { customerData: this.customerData }),
      heard: [...this.heard],
      digitsPressed: this.digitsPressed,
      dtmfSent: this.dtmfSent,
      streams: this.streams.map((stream) => ({ ...stream })),
      ...(this.queue !== undefined && { queue: this.queue }),
      ...((this.bridgedWith ?? this.lastBridgedWith) && {
        bridgedWith: (this.bridgedWith ?? this.lastBridgedWith)?.callSid,
      }),
      verbs: [...this.verbs],
      outcome: this.milestones.length > 0 ? this.milestones.join(', ') : this.status,
    };
  }
}

/** The speech defaults of the simulated application, sent as `defaults` in session:new. */
const SPEECH_DEFAULTS = {
  synthesizer: { vendor: 'google', language: 'en-US', voice: 'en-US-Standard-C' },
  recognizer: { vendor: 'google', language: 'en-US' },
};

/** session:new for an inbound call: the whole INVITE (`sip`), the call info and the application's defaults. */
export function inboundSessionNew(call: SimCall, account: AccountContext): Record<string, unknown> {
  return {
    sip: inviteOf(call, account),
    ...call.callInfo(account),
    callerName: call.from,
    localSipAddress: FS_SIP_ADDRESS,
    serviceProviderSid: SERVICE_PROVIDER_SID,
    defaults: SPEECH_DEFAULTS,
  };
}

/** session:new for a call placed with createCall, requested once the callee answered. */
export function outboundSessionNew(call: SimCall, account: AccountContext): Record<string, unknown> {
  return { ...call.callInfo(account), serviceProviderSid: SERVICE_PROVIDER_SID, defaults: SPEECH_DEFAULTS };
}

/** The INVITE the SBC passed on, as jambonz forwards it: headers (lower-case plus the SBC's X- headers), raw text, SDP. */
function inviteOf(call: SimCall, account: AccountContext): Record<string, unknown> {
  const sdp = [
    'v=0',
    `o=- 1 1 IN IP4 ${CARRIER_ADDRESS}`,
    's=-',
    `c=IN IP4 ${CARRIER_ADDRESS}`,
    't=0 0',
    'm=audio 40000 RTP/AVP 0 101',
    'a=rtpmap:0 PCMU/8000',
    'a=rtpmap:101 telephone-event/8000',
    '',
  ].join('\r\n');
  const uri = `sip:${call.to}@${FS_SIP_ADDRESS}`;
  const headers: Record<string, string> = {
    via: `SIP/2.0/UDP ${SBC_ADDRESS};branch=z9hG4bK${call.sbcCallId.slice(0, 8)}`,
    'max-forwards': '69',
    from: `<sip:${call.from}@${CARRIER_ADDRESS}>;tag=${call.traceId.slice(0, 8)}`,
    to: `<sip:${call.to}@${SBC_ADDRESS}>`,
    'call-id': call.callId,
    cseq: '1 INVITE',
    contact: `<sip:${SBC_ADDRESS}>`,
    'content-type': 'application/sdp',
    'content-length': String(Buffer.byteLength(sdp)),
    'X-CID': call.sbcCallId,
    'X-Forwarded-For': CARRIER_ADDRESS,
    'X-Originating-Carrier': CARRIER_TRUNK,
    'X-Account-Sid': account.accountSid,
    'X-Application-Sid': account.applicationSid,
  };
  const raw = `INVITE ${uri} SIP/2.0\r\n${Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}`)
    .join('\r\n')}\r\n\r\n${sdp}`;
  return {
    headers,
    raw,
    body: sdp,
    method: 'INVITE',
    version: '2.0',
    uri,
    payload: [{ type: 'application/sdp', content: sdp }],
  };
}

/** jambonz snake_cases every key it sends, except these, whose contents it also leaves alone. */
const UNCONVERTED_KEYS = new Set(['customerData', 'sip', 'env_vars', 'args']);

export function snakeCaseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(snakeCaseKeys);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, inner]) =>
      UNCONVERTED_KEYS.has(key)
        ? [key, inner]
        : [key.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`), snakeCaseKeys(inner)],
    ),
  );
}
