import { randomUUID } from 'node:crypto';
import type { AgentScript, CallerScript, SimRecording } from '../scripts';
import type { FaxScript, InboundFaxScript, SignalWireCallState, SimFax } from './types';

/**
 * A call leg, and how work on it is cut short. Work on a leg (a document, a REST play, a
 * ring timer) is async code that waits on `SimClock.delay` (`../clock`) with an `AbortSignal`; ending the leg, redirecting
 * its document or stopping an operation aborts the signal and the waiting code unwinds with `Interrupted`.
 */

/** Why waiting work was cut short. */
export type InterruptReason = 'ended' | 'redirected' | 'stopped' | 'preempted' | 'closed';

export class Interrupted extends Error {
  override readonly name = 'Interrupted';
  constructor(readonly reason: InterruptReason) {
    super(`interrupted: ${reason}`);
  }
}

export function interruptReason(signal: AbortSignal): InterruptReason {
  return signal.reason instanceof Interrupted ? signal.reason.reason : 'closed';
}

/** Aborts a controller with a typed reason, so `SimClock.delay` rejects with it. */
export function interrupt(controller: AbortController, reason: InterruptReason): void {
  if (!controller.signal.aborted) controller.abort(new Interrupted(reason));
}

/** Who is at the far end of a leg, and how they behave. */
export type RemoteParty =
  | { kind: 'caller'; script: CallerScript }
  | { kind: 'agent'; script: AgentScript }
  | { kind: 'fax-sender'; script: InboundFaxScript }
  | { kind: 'fax-receiver'; script: FaxScript };

/** A running operation with a control_id (REST-started, or SWML-started with a server-assigned id). */
export interface ActiveOperation {
  command: string;
  controller: AbortController;
  /** pause / resume / volume and the like; absent when the operation has no such control. */
  control?: (action: string, params: Record<string, unknown>) => void;
}

export interface Bridge {
  /** The leg whose `connect` made the bridge; its document waits for the bridge to end. */
  owner: Leg;
  peer: Leg;
  /** The peer was dialed by this connect (it has no document of its own and ends with the bridge). */
  peerOriginated: boolean;
  /** Aborted when the bridge comes down (a hangup, `calling.disconnect`, the owner leaving). */
  controller: AbortController;
  /** The owner's connect `status_url`, which hears `disconnected`. */
  statusUrl?: string;
}

export class Leg {
  readonly callId = randomUUID();
  readonly nodeId = randomUUID();
  readonly segmentId = randomUUID();
  /** The SWML session's channel, `event_channel` of its callbacks. */
  readonly channel = `swml:${randomUUID()}`;
  readonly createdAt = new Date();
  state: SignalWireCallState = 'created';
  answeredAt?: Date;
  endedAt?: Date;
  endReason?: string;
  endedBy?: 'remote' | 'app' | 'carrier';
  /** Aborted when the leg ends: everything waiting on the leg unwinds. */
  readonly lifetime = new AbortController();
  readonly timers = new Set<NodeJS.Timeout>();
  readonly endWaiters: Array<() => void> = [];

  /** The SWML variables, all strings, as the next fetch sends them in `vars`. */
  readonly vars: Record<string, string> = {};
  /** `custom_variables` of the dial, sent as `envs`. */
  envs: Record<string, string> = {};
  /** Where `calling.call.state` callbacks go, and which states. */
  stateCallbacks?: { url: string; events: ReadonlySet<string> };
  /** The document URL the leg was dialed with (the CallLeg's `url`). */
  documentUrl?: string;
  /** The running document and the method it is in. */
  document?: { controller: AbortController; method?: AbortController };
  readonly operations = new Map<string, ActiveOperation>();
  bridge?: Bridge;
  /** The last leg this one was bridged with. */
  lastBridgedWith?: Leg;
  /** Prompts and collects started: selects the caller's scripted press. */
  inputsStarted = 0;
  voicemailLeft = false;

  readonly heard: string[] = [];
  digitsPressed = '';
  digitsSent = '';
  readonly recordings: SimRecording[] = [];
  readonly faxes: SimFax[] = [];
  documentsFetched = 0;
  readonly milestones: string[] = [];

  constructor(
    readonly direction: 'inbound' | 'outbound',
    readonly from: string,
    readonly to: string,
    readonly remote: RemoteParty,
    /** The leg whose `connect` dialed this one. */
    readonly parent?: Leg,
  ) {}

  get isUp(): boolean {
    return this.state === 'answered';
  }

  get hasEnded(): boolean {
    return this.state === 'ending' || this.state === 'ended';
  }

  /** The far end's number, as a person would name the call. */
  get party(): string {
    return this.direction === 'inbound' ? this.from : this.to;
  }

  /** Our own number on this leg. */
  get ourNumber(): string {
    return this.direction === 'inbound' ? this.to : this.from;
  }
}
