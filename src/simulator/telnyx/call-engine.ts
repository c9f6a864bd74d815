import { randomBytes, randomUUID } from 'node:crypto';
import { SIM_MS as SHARED_SIM_MS, SimClock, Timers } from '../clock';
import { untilCallFinished } from '../control';
import { scriptedAgent } from '../scripts';
import { rejections } from './errors';
import type { AgentScript, CallerScript, SimCallRecord, SimLegState, SimRecording } from './types';
import { buildWebhook, type LegIdentity, type TelnyxEventType, type WebhookDispatcher } from './webhooks';

/**
 * The call legs: a state machine per leg driven by REST commands, scripted callers (inbound legs) and
 * scripted agents (legs we dial). Every duration below is simulated time, multiplied by `timeScale`.
 */

const SIM_MS = {
  ...SHARED_SIM_MS,
  /** Time to store a recording after it stops, before `call.recording.saved`. */
  recordingStored: 500,
} as const;

/** The call actions the simulator runs, with their HTTP method. Other Telnyx actions answer 404. */
export const SIMULATED_ACTIONS: Readonly<Record<string, 'POST' | 'PUT'>> = {
  answer: 'POST',
  bridge: 'POST',
  client_state_update: 'PUT',
  enqueue: 'POST',
  fork_start: 'POST',
  fork_stop: 'POST',
  gather: 'POST',
  gather_stop: 'POST',
  gather_using_audio: 'POST',
  gather_using_speak: 'POST',
  hangup: 'POST',
  leave_queue: 'POST',
  playback_start: 'POST',
  playback_stop: 'POST',
  record_pause: 'POST',
  record_resume: 'POST',
  record_start: 'POST',
  record_stop: 'POST',
  reject: 'POST',
  send_dtmf: 'POST',
  speak: 'POST',
  transfer: 'POST',
  // Detection and media (issue 10 item 4).
  streaming_start: 'POST',
  streaming_stop: 'POST',
  suppression_start: 'POST',
  suppression_stop: 'POST',
  transcription_start: 'POST',
  transcription_stop: 'POST',
  refer: 'POST',
  // supervisor controls:
  switch_supervisor_role: 'POST',
};

/** Ended legs stay readable (GET /calls/:id) this long, as on Telnyx. */
const ENDED_CALL_RETENTION_MS = 10 * 60_000;

type Body = Record<string, unknown>;
type HangupCause = 'call_rejected' | 'normal_clearing' | 'originator_cancel' | 'timeout' | 'time_limit' | 'user_busy';
type HangupSource = 'caller' | 'callee';
type MediaEndStatus = 'completed' | 'cancelled' | 'call_hangup';
type GatherStatus = 'valid' | 'invalid' | 'call_hangup' | 'cancelled' | 'timeout';
type QueueLeaveReason = 'bridged' | 'hangup' | 'leave' | 'timeout';

const SIP_CODE_BY_CAUSE: Record<HangupCause, string> = {
  normal_clearing: '200',
  originator_cancel: '487',
  user_busy: '486',
  call_rejected: '603',
  timeout: '480',
  time_limit: 'unspecified',
};

interface MediaItem {
  kind: 'speak' | 'playback';
  /** What `heard` records: the speak payload or the audio URL. */
  heardAs: string;
  /** One play, simulated ms. */
  durationMs: number;
  loops: number | 'infinity';
  /** Extra fields of the playback events (media_url, media_name, overlay). */
  eventFields: Body;
  listeners: Leg[];
  onStart?: () => void;
  onEnd?: (status: MediaEndStatus) => void;
}

interface GatherRun {
  /** Which gather of the leg this is (0-based): selects the caller's scripted press. */
  index: number;
  /** A fresh prompt for each try; none for plain `gather`. */
  prompt?: () => MediaItem;
  minDigits: number;
  maxDigits: number;
  terminator: string;
  validDigits: string;
  /** Wait for the first digit after the prompt (timeout_millis, or initial_timeout_millis for `gather`). */
  firstDigitTimeoutMs: number;
  interDigitTimeoutMs: number;
  triesLeft: number;
  digits: string;
  /** The prompt of the current try. */
  currentPrompt?: MediaItem;
  timers: NodeJS.Timeout[];
}

interface ActiveRecording {
  recordingId: string;
  format: 'mp3' | 'wav';
  channels: 'single' | 'dual';
  startedAt: Date;
}

interface SimQueue {
  name: string;
  maxSize: number;
  members: Leg[];
  finishedWaitsSecs: number[];
}

class Leg implements LegIdentity {
  readonly callControlId = `v3:${randomBytes(30).toString('base64url')}`;
  readonly callLegId = randomUUID();
  readonly startedAt = new Date();
  clientState?: string;
  state: SimLegState;
  endedAt?: Date;
  hangupCause?: HangupCause;
  hangupSource?: HangupSource;
  readonly heard: string[] = [];
  digitsPressed = '';
  bridgedWith?: Leg;
  lastBridgedWith?: Leg;
  readonly recordings: SimRecording[] = [];
  readonly milestones: string[] = [];
  /** Per-leg webhook URL from dial/answer/transfer `webhook_url`. */
  webhookUrl?: string;
  caller?: CallerScript;
  gathersStarted = 0;
  gather?: GatherRun;
  readonly mediaQueue: MediaItem[] = [];
  nowPlaying?: { item: MediaItem; timer?: NodeJS.Timeout };
  recording?: ActiveRecording;
  voicemailStarted = false;
  queue?: { queue: SimQueue; enteredAt: Date; timer?: NodeJS.Timeout };
  forking = false;
  /** The WebSocket this leg streams to (`streaming_start`), until `streaming_stop` or the hangup. */
  streamUrl?: string;
  /** `park_after_unbridge: self`: stay up when the bridged leg hangs up. */
  parkAfterUnbridge = false;
  /** A transfer's new leg: cancelled if the transferred leg hangs up while it rings. */
  transferredFrom?: Leg;
  recordFromAnswer?: { format: 'mp3' | 'wav'; channels: 'single' | 'dual' };
  /** `answering_machine_detection` of dial/transfer, when not disabled. */
  machineDetection?: string;
  timeLimitSecs?: number;
  readonly endWaiters: Array<() => void> = [];
  /** A supervisor leg (dial `supervise_call_control_id`): the leg it supervises, and its roles so far, in order. */
  supervising?: Leg;
  readonly supervisorRoles: string[] = [];

  constructor(
    readonly direction: 'incoming' | 'outgoing',
    readonly from: string,
    readonly to: string,
    readonly connectionId: string,
    /** Cleared when the leg ends: nothing scheduled for it runs after that. */
    readonly timers: Timers,
    readonly callSessionId: string = randomUUID(),
  ) {
    this.state = direction === 'incoming' ? 'parked' : 'ringing';
  }

  /** The remote party's number, as a person would name the call. */
  get party(): string {
    return this.direction === 'incoming' ? this.from : this.to;
  }

  /** Who Telnyx says hung up when our side ends the leg: we are the callee of an inbound call. */
  get ourSide(): HangupSource {
    return this.direction === 'incoming' ? 'callee' : 'caller';
  }

  get isUp(): boolean {
    return this.state === 'answered' || this.state === 'bridged';
  }
}

export interface CallEngineOptions {
  connectionId: string;
  timeScale: number;
  agents: Record<string, AgentScript>;
  dispatcher: WebhookDispatcher;
  webhookUrl: () => string | undefined;
  /** e.g. http://127.0.0.1:PORT, for recording URLs. */
  origin: () => string;
  log: (line: string) => void;
}

interface Ending {
  cause: HangupCause;
  source: HangupSource;
  /** The milestone for the outcome line. */
  note: string;
}

function str(body: Body, key: string): string | undefined {
  const value = body[key];
  return typeof value === 'string' ? value : undefined;
}

function int(body: Body, key: string, fallback: number): number {
  const value = body[key];
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

const E164 = /^\+[1-9]\d{1,14}$/;
const SIP_URI = /^sips?:\S+@\S+$/;

export class CallEngine {
  private readonly legs = new Map<string, Leg>();
  private readonly queues = new Map<string, SimQueue>();
  private readonly recordingLengths = new Map<string, number>();
  /** Timers that outlive a leg (webhooks that follow its hangup). */
  private readonly clock: SimClock;
  /** Timers not tied to one leg's life (a recording is stored after its leg ended). */
  private readonly engineTimers: Timers;

  constructor(private readonly options: CallEngineOptions) {
    this.clock = new SimClock(options.timeScale);
    this.engineTimers = new Timers(this.clock);
  }

  private legTimers(): Timers {
    return new Timers(this.clock);
  }

  // --- entry points ------------------------------------------------------------------------------------

  placeInboundCall(script: CallerScript): Leg {
    const leg = new Leg('incoming', script.from, script.to, this.options.connectionId, this.legTimers());
    leg.caller = script;
    this.legs.set(leg.callControlId, leg);
    this.emit(leg, 'call.initiated', {
      caller_id_name: script.from,
      direction: 'incoming',
      start_time: leg.startedAt.toISOString(),
      state: 'parked',
    });
    leg.timers.after(script.giveUpAfterMs ?? SIM_MS.callerGivesUp, () => {
      if (leg.state === 'parked') {
        this.endLeg(leg, { cause: 'originator_cancel', source: 'caller', note: 'caller gave up before answer' });
      }
    });
    return leg;
  }

  /** POST /calls. The body has passed the spec's CallRequest schema. */
  dial(body: Body): Body {
    if (body.connection_id !== this.options.connectionId) throw rejections.invalidConnectionId();
    const from = str(body, 'from') ?? '';
    if (!E164.test(from)) throw rejections.notE164('from');
    // A list of numbers rings them all at once; the simulator rings the first.
    const to = Array.isArray(body.to) ? String(body.to[0] ?? '') : String(body.to);
    if (!E164.test(to) && !SIP_URI.test(to)) throw rejections.notE164('to');
    const linkTo = str(body, 'link_to');
    const linked = linkTo ? this.legs.get(linkTo) : undefined;
    const leg = new Leg('outgoing', from, to, this.options.connectionId, this.legTimers(), linked?.callSessionId);
    leg.clientState = str(body, 'client_state');
    leg.webhookUrl = str(body, 'webhook_url');
    leg.parkAfterUnbridge = body.park_after_unbridge === 'self';
    leg.timeLimitSecs = typeof body.time_limit_secs === 'number' ? body.time_limit_secs : undefined;
    if (body.record === 'record-from-answer')
      leg.recordFromAnswer = recordSettings(body, 'record_format', 'record_channels');
    leg.machineDetection = machineDetectionMode(body);
    const supervised = this.supervisedLeg(body);
    if (supervised) {
      leg.supervising = supervised;
      leg.supervisorRoles.push(str(body, 'supervisor_role') ?? 'barge');
    }
    this.legs.set(leg.callControlId, leg);
    this.emit(leg, 'call.initiated', {
      direction: 'outgoing',
      start_time: leg.startedAt.toISOString(),
      state: linkTo || body.bridge_intent ? 'bridging' : 'parked',
    });
    const bridgeOnAnswer = body.bridge_on_answer === true && linked;
    this.ring(leg, int(body, 'timeout_secs', 30), () => {
      if (bridgeOnAnswer && linked.isUp) this.connect(linked, leg);
      if (leg.supervising) leg.milestones.push(`supervising ${leg.supervising.party} as ${leg.supervisorRoles.at(-1)}`);
    });
    return {
      call_control_id: leg.callControlId,
      call_leg_id: leg.callLegId,
      call_session_id: leg.callSessionId,
      is_alive: false,
      record_type: 'call',
      ...(leg.clientState === undefined ? {} : { client_state: leg.clientState }),
    };
  }

  leg(callControlId: string): Leg | undefined {
    return this.legs.get(callControlId);
  }

  /** Runs a call action; throws `CommandRejected` when Telnyx would refuse it. Returns the response `data`. */
  execute(leg: Leg, action: string, body: Body): Body {
    if (leg.state === 'ended') throw rejections.callEnded();
    const previousClientState = leg.clientState;
    // The latest client_state is echoed on every later webhook, including this command's own.
    if (typeof body.client_state === 'string') leg.clientState = body.client_state;
    try {
      return this.run(leg, action, body) ?? { result: 'ok' };
    } catch (err) {
      leg.clientState = previousClientState;
      throw err;
    }
  }

  /** GET /calls/:id, a `Call` object. */
  callStatus(leg: Leg): Body {
    const end = leg.endedAt;
    return {
      call_control_id: leg.callControlId,
      call_leg_id: leg.callLegId,
      call_session_id: leg.callSessionId,
      ...(leg.clientState === undefined ? {} : { client_state: leg.clientState }),
      is_alive: leg.state !== 'ended',
      record_type: 'call',
      start_time: leg.startedAt.toISOString(),
      ...(end
        ? { end_time: end.toISOString(), call_duration: Math.round((end.getTime() - leg.startedAt.getTime()) / 1000) }
        : {}),
    };
  }

  record(leg: Leg): SimCallRecord {
    return {
      callControlId: leg.callControlId,
      callLegId: leg.callLegId,
      callSessionId: leg.callSessionId,
      direction: leg.direction,
      from: leg.from,
      to: leg.to,
      state: leg.state,
      hangupCause: leg.hangupCause,
      hangupSource: leg.hangupSource,
      heard: [...leg.heard],
      digitsPressed: leg.digitsPressed,
      bridgedWith: (leg.bridgedWith ?? leg.lastBridgedWith)?.callControlId,
      ...(leg.supervising
        ? { supervising: leg.supervising.callControlId, supervisorRoles: [...leg.supervisorRoles] }
        : {}),
      recordings: leg.recordings.map((recording) => ({ ...recording })),
      queue: leg.queue?.queue.name,
      outcome: leg.milestones.length > 0 ? leg.milestones.join(', ') : leg.state,
    };
  }

  records(): SimCallRecord[] {
    return [...this.legs.values()].map((leg) => this.record(leg));
  }

  /** Resolves once the leg has ended and its webhooks are delivered or given up. */
  async waitForCallEnd(callControlId: string, timeoutMs: number): Promise<SimCallRecord> {
    const leg = this.legs.get(callControlId);
    if (!leg) throw new Error(`no call ${callControlId}`);
    await untilCallFinished(
      callControlId,
      timeoutMs,
      async () => {
        if (leg.state !== 'ended') await new Promise<void>((resolve) => leg.endWaiters.push(resolve));
        await this.options.dispatcher.idle(leg.callLegId);
      },
      () => `${this.record(leg).state}: ${this.record(leg).outcome}`,
    );
    return this.record(leg);
  }

  /** Length of a stored recording, for serving its audio. */
  recordingLength(recordingId: string): number | undefined {
    return this.recordingLengths.get(recordingId);
  }

  /** Forgets legs that ended more than ten minutes ago. */
  sweep(now = Date.now()): void {
    for (const [id, leg] of this.legs) {
      if (leg.endedAt && now - leg.endedAt.getTime() > ENDED_CALL_RETENTION_MS) this.legs.delete(id);
    }
  }

  close(): void {
    for (const leg of this.legs.values()) {
      leg.timers.clear();
      leg.endWaiters.splice(0).forEach((resolve) => resolve());
    }
    this.engineTimers.clear();
  }

  // --- actions -----------------------------------------------------------------------------------------

  private run(leg: Leg, action: string, body: Body): Body | void {
    switch (action) {
      case 'answer':
        return this.answer(leg, body);
      case 'reject':
        if (leg.direction !== 'incoming' || leg.state !== 'parked') {
          throw rejections.invalidValue('/cause', 'Only an incoming call that has not been answered can be rejected.');
        }
        return this.endLeg(leg, {
          cause: body.cause === 'USER_BUSY' ? 'user_busy' : 'call_rejected',
          source: 'callee',
          note: 'rejected',
        });
      case 'hangup':
        return this.endLeg(leg, {
          cause: leg.state === 'ringing' ? 'originator_cancel' : 'normal_clearing',
          source: leg.ourSide,
          note: 'hung up by the app',
        });
      case 'speak':
      case 'playback_start':
        return this.play(leg, action, body);
      case 'playback_stop':
        return this.stopMedia(leg, body.stop === 'current' ? 'current' : 'all');
      case 'gather':
      case 'gather_using_speak':
      case 'gather_using_audio':
        return this.startGather(leg, action, body);
      case 'gather_stop':
        if (leg.gather) this.endGather(leg, leg.gather, 'cancelled');
        return;
      case 'record_start':
        requireUp(leg);
        return this.startRecording(leg, recordSettings(body, 'format', 'channels'), {
          maxLengthSecs: int(body, 'max_length', 0),
          beep: body.play_beep === true,
        });
      case 'record_stop':
        return this.saveRecording(leg);
      case 'record_pause':
      case 'record_resume':
      case 'client_state_update':
        return; // No webhook; client_state is already applied.
      case 'send_dtmf':
        requireUp(leg);
        return;
      case 'bridge':
        return this.bridge(leg, body);
      case 'transfer':
        return this.transfer(leg, body);
      case 'enqueue':
        return this.enqueue(leg, body);
      case 'leave_queue':
        if (leg.queue) this.dequeue(leg, 'leave');
        return;
      case 'fork_start':
        requireUp(leg);
        leg.forking = true;
        return this.emit(leg, 'call.fork.started', { stream_type: 'decrypted' });
      case 'fork_stop':
        if (!leg.forking) throw rejections.notForked();
        leg.forking = false;
        return this.emit(leg, 'call.fork.stopped', { stream_type: 'decrypted' });
      // Detection and media (issue 10 item 4).
      case 'streaming_start':
      case 'streaming_stop':
      case 'suppression_start':
      case 'suppression_stop':
      case 'transcription_start':
      case 'transcription_stop':
      case 'refer':
        return this.media(leg, action, body);
      // supervisor controls:
      case 'switch_supervisor_role':
        return this.switchSupervisorRole(leg, String(body.role));
      default:
        throw new Error(`action ${action} is not simulated`);
    }
  }

  // --- supervisors --------------------------------------------------------------------------------------

  /**
   * The leg a dial's `supervise_call_control_id` names. It must be a live leg in a bridge: a supervisor listens
   * to (and whispers or barges into) a bridged call, which is what `switch_supervisor_role` says it acts on.
   */
  private supervisedLeg(body: Body): Leg | undefined {
    const id = str(body, 'supervise_call_control_id');
    if (id === undefined) return undefined;
    const supervised = this.legs.get(id);
    if (!supervised) throw rejections.invalidCallControlId('/supervise_call_control_id');
    if (supervised.state !== 'bridged') {
      throw rejections.invalidValue(
        '/supervise_call_control_id',
        `The supervised call must be bridged to another call (it is ${supervised.state}).`,
      );
    }
    return supervised;
  }

  /** `switch_supervisor_role`: only on an answered supervisor leg. */
  private switchSupervisorRole(leg: Leg, role: string): void {
    if (!leg.supervising) throw rejections.invalidValue('/role', 'This call is not supervising another call.');
    if (!leg.isUp) throw rejections.notAnswered();
    leg.supervisorRoles.push(role);
    leg.milestones.push(`switched to ${role}`);
  }

  private answer(leg: Leg, body: Body): Body | void {
    // Answering twice, or answering a leg we dialed, changes nothing.
    if (leg.direction !== 'incoming' || leg.state !== 'parked') return;
    leg.webhookUrl = str(body, 'webhook_url') ?? leg.webhookUrl;
    if (body.record === 'record-from-answer')
      leg.recordFromAnswer = recordSettings(body, 'record_format', 'record_channels');
    leg.timers.clear(); // the only timer of a parked call: the caller giving up
    this.answerLeg(leg);
    const hangupAfter = leg.caller?.hangupAfterMs;
    if (hangupAfter !== undefined) leg.timers.after(hangupAfter, () => this.callerHangsUp(leg, 'caller hung up'));
    return leg.recording ? { result: 'ok', recording_id: leg.recording.recordingId } : undefined;
  }

  private answerLeg(leg: Leg): void {
    leg.state = 'answered';
    this.emit(leg, 'call.answered', { start_time: leg.startedAt.toISOString(), state: 'answered' });
    leg.milestones.push('answered');
    if (leg.recordFromAnswer) this.startRecording(leg, leg.recordFromAnswer, { maxLengthSecs: 0, beep: false });
    if (leg.timeLimitSecs !== undefined) {
      leg.timers.after(leg.timeLimitSecs * 1000, () =>
        this.endLeg(leg, { cause: 'time_limit', source: leg.ourSide, note: 'time limit reached' }),
      );
    }
  }

  /** Rings a leg we placed, as its agent script says; `onAnswered` runs after `call.answered`. */
  private ring(leg: Leg, timeoutSecs: number, onAnswered: () => void): void {
    const script = scriptedAgent(this.options.agents, leg.to) ?? { behaviour: 'answer' };
    const timeoutMs = timeoutSecs * 1000;
    const noAnswer = () => this.endLeg(leg, { cause: 'timeout', source: 'caller', note: 'no answer' });
    if (script.behaviour === 'busy') {
      leg.timers.after(SIM_MS.busyAfter, () =>
        this.endLeg(leg, { cause: 'user_busy', source: 'callee', note: 'busy' }),
      );
      return;
    }
    const answerAfter = script.answerAfterMs ?? SIM_MS.defaultAnswerAfter;
    if (script.behaviour === 'no-answer' || answerAfter >= timeoutMs) {
      leg.timers.after(timeoutMs, noAnswer);
      return;
    }
    leg.timers.after(answerAfter, () => {
      this.answerLeg(leg);
      if (leg.machineDetection) this.detectMachine(leg, leg.machineDetection, script.answeredBy ?? 'human');
      if (script.hangupAfterMs !== undefined) {
        leg.timers.after(script.hangupAfterMs, () =>
          this.endLeg(leg, { cause: 'normal_clearing', source: 'callee', note: `${leg.to} hung up` }),
        );
      }
      onAnswered();
    });
  }

  /**
   * Standard detection sends `call.machine.detection.ended`, then for a machine `call.machine.greeting.ended`
   * when the mode listens for the greeting's end; premium sends the `premium` variants.
   */
  private detectMachine(leg: Leg, mode: string, answeredBy: 'human' | 'machine'): void {
    const premium = mode === 'premium';
    const machine = answeredBy === 'machine';
    leg.timers.after(SIM_MS.amdVerdict, () => {
      if (premium) {
        this.emit(leg, 'call.machine.premium.detection.ended', { result: machine ? 'machine' : 'human_residence' });
      } else {
        this.emit(leg, 'call.machine.detection.ended', { result: answeredBy });
      }
      leg.milestones.push(`answered by a ${answeredBy}`);
      if (!machine || mode === 'detect') return;
      leg.timers.after(SIM_MS.amdGreetingEnded, () =>
        this.emit(leg, premium ? 'call.machine.premium.greeting.ended' : 'call.machine.greeting.ended', {
          result: 'beep_detected',
        }),
      );
    });
  }

  private callerHangsUp(leg: Leg, note: string): void {
    this.endLeg(leg, { cause: 'normal_clearing', source: 'caller', note });
  }

  /** Ends a leg and everything running on it, in the order Telnyx reports it. */
  private endLeg(leg: Leg, ending: Ending): void {
    if (leg.state === 'ended') return;
    const partner = leg.bridgedWith;
    leg.state = 'ended';
    leg.endedAt = new Date();
    leg.hangupCause = ending.cause;
    leg.hangupSource = ending.source;
    leg.timers.clear();
    if (leg.nowPlaying) this.finishMedia(leg, 'call_hangup');
    leg.mediaQueue.splice(0);
    if (leg.gather) this.endGather(leg, leg.gather, 'call_hangup');
    if (leg.queue) this.dequeue(leg, 'hangup');
    if (leg.forking) {
      leg.forking = false;
      this.emit(leg, 'call.fork.stopped', { stream_type: 'decrypted' });
    }
    if (leg.streamUrl) this.stopStreaming(leg);
    const sipCode = SIP_CODE_BY_CAUSE[ending.cause];
    this.emit(leg, 'call.hangup', {
      hangup_cause: ending.cause,
      hangup_source: ending.source,
      // Telnyx has no SIP response for a normal end of an inbound call.
      sip_hangup_cause: ending.cause === 'normal_clearing' && leg.direction === 'incoming' ? 'unspecified' : sipCode,
      start_time: leg.startedAt.toISOString(),
      state: 'hangup',
    });
    if (leg.recording) this.saveRecording(leg);
    leg.milestones.push(ending.note);
    if (partner) this.unbridgeAfterHangup(partner, leg);
    for (const other of this.legs.values()) {
      if (other.transferredFrom === leg && other.state === 'ringing') {
        this.endLeg(other, { cause: 'originator_cancel', source: 'caller', note: 'transfer cancelled' });
      }
      // A supervisor leaves with the call it supervises.
      if (other.supervising === leg && other.state !== 'ended') {
        const cause = other.state === 'ringing' ? 'originator_cancel' : 'normal_clearing';
        this.endLeg(other, { cause, source: other.ourSide, note: 'the supervised call ended' });
      }
    }
    this.options.log(`${leg.callControlId} ended: ${ending.cause} (${ending.source})`);
    leg.endWaiters.splice(0).forEach((resolve) => resolve());
  }

  /**
   * When one bridged leg hangs up or is bridged elsewhere, the other is hung up too unless it asked to be parked
   * (`park_after_unbridge: self` on its own bridge or transfer).
   */
  private unbridgeAfterHangup(partner: Leg, gone: Leg, why = 'hung up'): void {
    gone.lastBridgedWith = partner;
    gone.bridgedWith = undefined;
    partner.lastBridgedWith = gone;
    partner.bridgedWith = undefined;
    if (partner.state === 'ended') return;
    if (partner.parkAfterUnbridge) {
      partner.state = 'answered';
      partner.milestones.push(`${gone.party} ${why}, parked`);
      return;
    }
    this.endLeg(partner, { cause: 'normal_clearing', source: partner.ourSide, note: `${gone.party} ${why}` });
  }

  // --- media -------------------------------------------------------------------------------------------

  private play(leg: Leg, action: 'speak' | 'playback_start', body: Body): void {
    requireUp(leg);
    const listeners = this.listeners(leg, str(body, 'target_legs'));
    const item = action === 'speak' ? this.speakItem(body, listeners) : this.playbackItem(body, listeners);
    if (body.stop === 'current' || body.stop === 'all') this.stopMedia(leg, body.stop);
    item.loops = body.loop === 'infinity' ? 'infinity' : Math.max(1, Number(body.loop ?? 1) || 1);
    this.enqueueMedia(leg, item);
  }

  private speakItem(body: Body, listeners: Leg[]): MediaItem {
    const payload = str(body, 'payload') ?? '';
    const spoken = body.payload_type === 'ssml' ? payload.replace(/<[^>]*>/g, '') : payload;
    return {
      kind: 'speak',
      heardAs: payload,
      durationMs: Math.max(SIM_MS.speakMin, spoken.length * SIM_MS.speakPerChar),
      loops: 1,
      eventFields: {},
      listeners,
    };
  }

  private playbackItem(body: Body, listeners: Leg[]): MediaItem {
    const audioUrl = str(body, 'audio_url');
    const mediaName = str(body, 'media_name');
    const inline = str(body, 'playback_content');
    if (!audioUrl && !mediaName && !inline) throw rejections.missingParameter('audio_url');
    return {
      kind: 'playback',
      heardAs: audioUrl ?? mediaName ?? '(inline audio)',
      durationMs: SIM_MS.audioFile,
      loops: 1,
      // Inline audio is reported with empty media_url and media_name.
      eventFields: {
        media_url: inline ? '' : audioUrl,
        media_name: inline ? '' : mediaName,
        overlay: body.overlay === true,
      },
      listeners,
    };
  }

  private listeners(leg: Leg, targetLegs: string | undefined): Leg[] {
    const partner = leg.bridgedWith;
    if (targetLegs === 'opposite') return partner ? [partner] : [];
    if (targetLegs === 'both') return partner ? [leg, partner] : [leg];
    return [leg];
  }

  /** Speak and playback commands queue up and play one after another, as on Telnyx. */
  private enqueueMedia(leg: Leg, item: MediaItem): void {
    leg.mediaQueue.push(item);
    if (!leg.nowPlaying) this.startNextMedia(leg);
  }

  private startNextMedia(leg: Leg): void {
    const item = leg.mediaQueue.shift();
    if (!item) return;
    leg.nowPlaying = { item };
    this.emit(leg, item.kind === 'speak' ? 'call.speak.started' : 'call.playback.started', item.eventFields);
    for (const listener of item.listeners) listener.heard.push(item.heardAs);
    if (item.loops !== 'infinity') {
      leg.nowPlaying.timer = leg.timers.after(item.durationMs * item.loops, () => this.finishMedia(leg, 'completed'));
    }
    item.onStart?.();
  }

  private finishMedia(leg: Leg, status: MediaEndStatus): void {
    const playing = leg.nowPlaying;
    if (!playing) return;
    leg.timers.cancel(playing.timer);
    leg.nowPlaying = undefined;
    const { item } = playing;
    if (item.kind === 'speak') {
      // call.speak.ended has no `cancelled` status in the spec; a stopped speak is reported as completed.
      this.emit(leg, 'call.speak.ended', { status: status === 'call_hangup' ? 'call_hangup' : 'completed' });
    } else {
      this.emit(leg, 'call.playback.ended', { ...item.eventFields, status });
    }
    item.onEnd?.(status);
    if (status !== 'call_hangup') this.startNextMedia(leg);
  }

  private stopMedia(leg: Leg, scope: 'current' | 'all'): void {
    if (scope === 'all') leg.mediaQueue.splice(0).forEach((item) => item.onEnd?.('cancelled'));
    this.finishMedia(leg, 'cancelled');
  }

  // --- gather ------------------------------------------------------------------------------------------

  private startGather(leg: Leg, action: 'gather' | 'gather_using_speak' | 'gather_using_audio', body: Body): void {
    requireUp(leg);
    let prompt: (() => MediaItem) | undefined;
    if (action === 'gather_using_speak') prompt = () => this.speakItem(body, [leg]);
    if (action === 'gather_using_audio') {
      this.playbackItem(body, [leg]); // rejects a body without audio before anything starts
      prompt = () => this.playbackItem(body, [leg]);
    }
    const timeoutMs = int(body, 'timeout_millis', 60_000);
    const run: GatherRun = {
      index: leg.gathersStarted++,
      prompt,
      minDigits: int(body, 'minimum_digits', 1),
      maxDigits: int(body, 'maximum_digits', 128),
      terminator: str(body, 'terminating_digit') ?? '#',
      validDigits: str(body, 'valid_digits') ?? '0123456789#*',
      firstDigitTimeoutMs: action === 'gather' ? int(body, 'initial_timeout_millis', 5_000) : timeoutMs,
      interDigitTimeoutMs: int(body, 'inter_digit_timeout_millis', 5_000),
      triesLeft: action === 'gather' ? 1 : int(body, 'maximum_tries', 3),
      digits: '',
      timers: [],
    };
    // A new gather replaces the one in progress.
    if (leg.gather) this.endGather(leg, leg.gather, 'cancelled');
    leg.gather = run;
    // Plain gather: timeout_millis bounds the whole gather.
    if (action === 'gather') run.timers.push(leg.timers.after(timeoutMs, () => this.endGather(leg, run, 'timeout')));
    if (run.prompt) {
      this.playPrompt(leg, run);
    } else if (leg.caller?.hangupDuringPrompt === run.index) {
      run.timers.push(leg.timers.after(0, () => this.callerHangsUp(leg, 'caller hung up during the menu')));
    } else {
      this.awaitInput(leg, run);
    }
  }

  private playPrompt(leg: Leg, run: GatherRun): void {
    if (!run.prompt) return;
    const item = run.prompt();
    const firstTry = run.currentPrompt === undefined;
    item.onStart = () => {
      if (firstTry && leg.caller?.hangupDuringPrompt === run.index) {
        const halfway = (item.durationMs * (item.loops === 'infinity' ? 1 : item.loops)) / 2;
        run.timers.push(leg.timers.after(halfway, () => this.callerHangsUp(leg, 'caller hung up during the menu')));
      }
    };
    item.onEnd = (status) => {
      if (leg.gather === run && status !== 'call_hangup') this.awaitInput(leg, run);
    };
    run.currentPrompt = item;
    this.enqueueMedia(leg, item);
  }

  private awaitInput(leg: Leg, run: GatherRun): void {
    const press = leg.caller?.presses?.[run.index];
    if (press) {
      run.timers.push(leg.timers.after(SIM_MS.callerThinks, () => this.pressDigit(leg, run, press)));
      return;
    }
    run.timers.push(
      leg.timers.after(run.firstDigitTimeoutMs, () => {
        // gather_using_*: no input replays the prompt until maximum_tries plays were made.
        if (run.prompt && run.triesLeft > 1) {
          run.triesLeft--;
          this.playPrompt(leg, run);
        } else {
          this.endGather(leg, run, 'timeout');
        }
      }),
    );
  }

  private pressDigit(leg: Leg, run: GatherRun, remaining: string): void {
    if (leg.gather !== run) return;
    const digit = remaining[0];
    leg.digitsPressed += digit;
    this.emit(leg, 'call.dtmf.received', { digit });
    if (digit === run.terminator) {
      return this.endGather(leg, run, run.digits.length >= run.minDigits ? 'valid' : 'invalid');
    }
    run.digits += digit;
    if (!run.validDigits.includes(digit)) return this.endGather(leg, run, 'invalid');
    if (run.digits.length >= run.maxDigits) return this.endGather(leg, run, 'valid');
    if (remaining.length > 1) {
      run.timers.push(leg.timers.after(SIM_MS.betweenDigits, () => this.pressDigit(leg, run, remaining.slice(1))));
    } else {
      run.timers.push(
        leg.timers.after(run.interDigitTimeoutMs, () =>
          this.endGather(leg, run, run.digits.length >= run.minDigits ? 'valid' : 'invalid'),
        ),
      );
    }
  }

  private endGather(leg: Leg, run: GatherRun, status: GatherStatus): void {
    if (leg.gather !== run) return;
    leg.gather = undefined;
    for (const timer of run.timers) leg.timers.cancel(timer);
    const prompt = run.currentPrompt;
    if (prompt && leg.nowPlaying?.item === prompt) {
      this.finishMedia(leg, status === 'call_hangup' ? 'call_hangup' : 'cancelled');
    } else if (prompt && leg.mediaQueue.includes(prompt)) {
      leg.mediaQueue.splice(leg.mediaQueue.indexOf(prompt), 1);
    }
    this.emit(leg, 'call.gather.ended', { digits: run.digits, status });
    if (status === 'valid') leg.milestones.push(`pressed ${run.digits}`);
    if (status === 'invalid') leg.milestones.push(`pressed invalid ${run.digits || 'input'}`);
    if (status === 'timeout') leg.milestones.push('stayed silent');
  }

  // --- recording ---------------------------------------------------------------------------------------

  private startRecording(
    leg: Leg,
    settings: { format: 'mp3' | 'wav'; channels: 'single' | 'dual' },
    limits: { maxLengthSecs: number; beep: boolean },
  ): void {
    if (leg.recording) this.saveRecording(leg);
    const recording: ActiveRecording = { recordingId: randomUUID(), ...settings, startedAt: new Date() };
    leg.recording = recording;
    if (limits.maxLengthSecs > 0) {
      leg.timers.after(limits.maxLengthSecs * 1000, () => {
        if (leg.recording === recording) this.saveRecording(leg);
      });
    }
    const voicemail = leg.caller?.voicemail;
    if (voicemail && !leg.voicemailStarted) {
      leg.voicemailStarted = true;
      const talkFor = (limits.beep ? SIM_MS.beep : 0) + voicemail.talkMs;
      leg.timers.after(talkFor, () => this.callerHangsUp(leg, 'left a voicemail, caller hung up'));
    }
  }

  /** Stops the recording; `call.recording.saved` follows once the file is stored. */
  private saveRecording(leg: Leg): void {
    const recording = leg.recording;
    if (!recording) return;
    leg.recording = undefined;
    const endedAt = new Date();
    const durationMs = endedAt.getTime() - recording.startedAt.getTime();
    const base = `${this.options.origin()}/_sim/recordings/${recording.recordingId}`;
    const urls = { mp3: `${base}.mp3`, wav: `${base}.wav` };
    this.recordingLengths.set(recording.recordingId, durationMs);
    leg.recordings.push({ recordingId: recording.recordingId, url: urls[recording.format], durationMs });
    const release = this.options.dispatcher.hold(leg.callLegId);
    this.engineTimers.after(SIM_MS.recordingStored, () => {
      this.emit(leg, 'call.recording.saved', {
        channels: recording.channels,
        public_recording_urls: urls,
        recording_ended_at: endedAt.toISOString(),
        recording_started_at: recording.startedAt.toISOString(),
        recording_urls: urls,
      });
      release();
    });
  }

  // --- bridging, transfer, queues ----------------------------------------------------------------------

  private bridge(leg: Leg, body: Body): void {
    requireUp(leg);
    let other: Leg | undefined;
    const queueName = str(body, 'queue');
    if (queueName) {
      other = this.queues.get(queueName)?.members[0];
      if (!other) throw rejections.invalidValue('/queue', `The '${queueName}' queue is empty.`);
      // The first caller always leaves the queue, even if the bridge then fails.
      this.dequeue(other, 'bridged');
    } else {
      other = this.legs.get(str(body, 'call_control_id') ?? '');
      if (!other) throw rejections.invalidCallControlId();
      if (other.state === 'ended') throw rejections.callEnded();
    }
    if (other === leg) throw rejections.invalidValue('/call_control_id', 'A call cannot be bridged with itself.');
    requireUp(other);
    leg.parkAfterUnbridge = body.park_after_unbridge === 'self';
    this.connect(leg, other);
  }

  private transfer(leg: Leg, body: Body): void {
    const to = str(body, 'to') ?? '';
    if (!E164.test(to) && !SIP_URI.test(to)) throw rejections.notE164('to');
    const from = str(body, 'from') ?? (leg.direction === 'incoming' ? leg.to : leg.from);
    const target = new Leg('outgoing', from, to, this.options.connectionId, this.legTimers(), leg.callSessionId);
    target.transferredFrom = leg;
    target.clientState = str(body, 'target_leg_client_state');
    target.webhookUrl = str(body, 'webhook_url') ?? leg.webhookUrl;
    target.timeLimitSecs = typeof body.time_limit_secs === 'number' ? body.time_limit_secs : undefined;
    target.machineDetection = machineDetectionMode(body);
    leg.parkAfterUnbridge = body.park_after_unbridge === 'self';
    this.legs.set(target.callControlId, target);
    leg.milestones.push(`transferred to ${to}`);
    this.emit(target, 'call.initiated', {
      direction: 'outgoing',
      start_time: target.startedAt.toISOString(),
      state: 'bridging',
    });
    this.ring(target, int(body, 'timeout_secs', 30), () => {
      if (leg.state !== 'ended') this.connect(leg, target);
    });
  }

  /** Bridges two legs: media stops on both (the caller now hears the agent) and each gets `call.bridged`. */
  private connect(a: Leg, b: Leg): void {
    for (const leg of [a, b]) {
      if (leg.queue) this.dequeue(leg, 'bridged');
      // The partner this leg leaves behind is treated as after any unbridge: hung up unless it asked to be parked.
      if (leg.bridgedWith) this.unbridgeAfterHangup(leg.bridgedWith, leg, 'bridged elsewhere');
      this.stopMedia(leg, 'all');
      leg.state = 'bridged';
    }
    a.bridgedWith = b;
    b.bridgedWith = a;
    this.emit(a, 'call.bridged', {});
    this.emit(b, 'call.bridged', {});
    a.milestones.push(`bridged to ${b.party}`);
    b.milestones.push(`bridged to ${a.party}`);
  }

  private enqueue(leg: Leg, body: Body): void {
    requireUp(leg);
    const name = str(body, 'queue_name') ?? '';
    if (leg.queue?.queue.name === name) throw rejections.alreadyInQueue();
    let queue = this.queues.get(name);
    if (!queue) {
      // max_size is fixed when the queue is created.
      queue = { name, maxSize: int(body, 'max_size', 100), members: [], finishedWaitsSecs: [] };
      this.queues.set(name, queue);
    }
    if (queue.members.length >= queue.maxSize) throw rejections.queueFull(name);
    if (leg.queue) this.dequeue(leg, 'leave');
    queue.members.push(leg);
    leg.queue = { queue, enteredAt: new Date() };
    const maxWaitSecs = body.max_wait_time_secs;
    if (typeof maxWaitSecs === 'number') {
      leg.queue.timer = leg.timers.after(maxWaitSecs * 1000, () => this.dequeue(leg, 'timeout'));
    }
    const waits = queue.finishedWaitsSecs;
    this.emit(leg, 'call.enqueued', {
      current_position: queue.members.length,
      queue: name,
      queue_avg_wait_time_secs: waits.length ? Math.round(waits.reduce((sum, w) => sum + w, 0) / waits.length) : 0,
    });
    leg.milestones.push(`queued in ${name}`);
  }

  private dequeue(leg: Leg, reason: QueueLeaveReason): void {
    const entry = leg.queue;
    if (!entry) return;
    leg.queue = undefined;
    leg.timers.cancel(entry.timer);
    const position = entry.queue.members.indexOf(leg) + 1;
    entry.queue.members.splice(position - 1, 1);
    const waitSecs = Math.round((Date.now() - entry.enteredAt.getTime()) / 1000);
    entry.queue.finishedWaitsSecs.push(waitSecs);
    this.emit(leg, 'call.dequeued', {
      queue: entry.queue.name,
      queue_position: position,
      reason,
      wait_time_secs: waitSecs,
    });
    if (reason === 'timeout' || reason === 'leave') leg.milestones.push(`left queue ${entry.queue.name} (${reason})`);
  }

  // --- plumbing ----------------------------------------------------------------------------------------

  // --- detection and media (issue 10 item 4) -----------------------------------------------------------

  /**
   * Streaming reports `streaming.started` / `streaming.stopped` with the URL; noise suppression and
   * transcription answer with no webhook of their own (the simulator transcribes nothing); a REFER reports
   * started, then completed with the NOTIFY's 200, after which the far end takes the call and this leg ends.
   */
  private media(leg: Leg, action: string, body: Body): void {
    requireUp(leg);
    switch (action) {
      case 'streaming_start':
        if (leg.streamUrl) return; // one stream per call here; Telnyx would start a second
        leg.streamUrl = str(body, 'stream_url') ?? '';
        leg.milestones.push(`streaming to ${leg.streamUrl}`);
        return this.emit(leg, 'streaming.started', { stream_url: leg.streamUrl });
      case 'streaming_stop':
        if (leg.streamUrl) this.stopStreaming(leg);
        return;
      case 'refer': {
        const to = str(body, 'sip_address') ?? '';
        this.emit(leg, 'call.refer.started', {});
        leg.timers.after(SIM_MS.ringing, () => {
          this.emit(leg, 'call.refer.completed', { sip_notify_response: 200 });
          this.endLeg(leg, { cause: 'normal_clearing', source: 'callee', note: `referred to ${to}` });
        });
        return;
      }
      default:
        leg.milestones.push(action);
    }
  }

  private stopStreaming(leg: Leg): void {
    const streamUrl = leg.streamUrl;
    leg.streamUrl = undefined;
    this.emit(leg, 'streaming.stopped', { stream_url: streamUrl });
  }

  private emit(leg: Leg, eventType: TelnyxEventType, fields: Body): void {
    this.options.dispatcher.send(
      leg.callLegId,
      () => leg.webhookUrl ?? this.options.webhookUrl(),
      buildWebhook(eventType, leg, fields),
    );
  }
}

export type { Leg };

function requireUp(leg: Leg): void {
  if (!leg.isUp) throw rejections.notAnswered();
}

function machineDetectionMode(body: Body): string | undefined {
  const mode = str(body, 'answering_machine_detection');
  return mode && mode !== 'disabled' ? mode : undefined;
}

function recordSettings(
  body: Body,
  formatKey: string,
  channelsKey: string,
): { format: 'mp3' | 'wav'; channels: 'single' | 'dual' } {
  return {
    format: body[formatKey] === 'wav' ? 'wav' : 'mp3',
    channels: body[channelsKey] === 'single' ? 'single' : 'dual',
  };
}
