import { randomUUID } from 'node:crypto';
import { Conferences } from '../conferences';
import { scriptedAgent, type AgentScript, type CallerScript } from '../scripts';
import type { Deliveries } from './delivery';
import { rejections } from './errors';
import { SIM_MS as SHARED_SIM_MS, SimClock } from '../clock';
import { untilCallFinished } from '../control';
import { interrupt, Interrupted, Leg, type ActiveOperation, type Bridge, type RemoteParty } from './leg';
import { Media, restSound, soundsLength, type CollectResult, type InputTimers } from './media';
import { callLeg, callStateParams, device, isPhoneNumber, statusCallback, voiceLog, type Space } from './payloads';
import type { SignalWireSpecValidator } from './spec';
import { collectResultParams, recordingParams, SwmlRunner, type CallControl, type DocumentSource } from './swml-runner';
import type { FaxScript, InboundFaxScript, SignalWireCallRecord } from './types';

/**
 * The call legs: inbound callers and fax machines, legs we dial (REST `dial`, SWML `connect`), bridges,
 * and every Calling API command. Documents run in `SwmlRunner`; what happens on the media path is in
 * `Media`. Every duration is simulated time, multiplied by `timeScale`.
 */

const SIM_MS = {
  ...SHARED_SIM_MS,
  /** A fax machine that reached us, or that we reached, hangs up if no fax starts within this long of answering. */
  faxStationWaits: 60_000,
} as const;

/** Ended legs stay readable (`GET /_sim/calls/:id`, voice logs) this long. */
const ENDED_CALL_RETENTION_MS = 10 * 60_000;
/** SignalWire's ring timeout when a dial gives none [unconfirmed]; SWML `connect` documents 60 s. */
const DEFAULT_RING_TIMEOUT_SECONDS = 60;
const SIP_URI = /^sips?:\S+@\S+$/;

type Json = Record<string, unknown>;

/** REST commands that start an operation under the caller's control_id. */
const OPERATION_STARTS = new Set([
  'calling.play',
  'calling.collect',
  'calling.record',
  'calling.detect',
  'calling.tap',
  'calling.stream',
]);
const OPERATION_STOPS = new Set([
  'calling.play.stop',
  'calling.collect.stop',
  'calling.record.stop',
  'calling.detect.stop',
  'calling.tap.stop',
  'calling.stream.stop',
  'calling.send_fax.stop',
  'calling.receive_fax.stop',
]);
const OPERATION_CONTROLS = new Set([
  'calling.play.pause',
  'calling.play.resume',
  'calling.play.volume',
  'calling.record.pause',
  'calling.record.resume',
  'calling.collect.start_input_timers',
]);
/** Accepted and acknowledged; nothing observable follows (no status_url, delivery target undocumented). */
const ACKNOWLEDGED_ONLY = new Set(['calling.denoise', 'calling.denoise.stop', 'calling.user_event']);

export interface CallEngineOptions {
  space: Space;
  timeScale: number;
  agents: Record<string, AgentScript>;
  faxes: Record<string, FaxScript>;
  deliveries: Deliveries;
  spec?: SignalWireSpecValidator;
  /** The space's inbound-call SWML URL, read when a call arrives. */
  swmlUrl: () => string;
  /** The phone number's Status Change Webhook: `calling.call.state` of inbound calls. */
  statusChangeUrl?: string;
  /** e.g. http://127.0.0.1:PORT, for recording and fax URLs. */
  origin: () => string;
  log: (line: string) => void;
}

export interface CommandOutcome {
  /** The 200 body: the leg (`Calling.CallLeg`). */
  response: unknown;
  callId: string;
  /** A repeated control_id of an operation still active on the call: acknowledged, not run again. */
  duplicate: boolean;
}

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const str = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);
const num = (value: unknown, fallback: number): number =>
  typeof value === 'number' && Number.isFinite(value) ? value : fallback;

export class CallEngine implements CallControl {
  readonly clock: SimClock;
  readonly media: Media;
  private readonly runner: SwmlRunner;
  readonly conferences = new Conferences();
  private readonly legs = new Map<string, Leg>();
  private readonly receivedFaxPages = new Map<string, number>();
  /** Dials per number, for `attemptsBeforeSuccess`. */
  private readonly dialsByNumber = new Map<string, number>();

  constructor(private readonly options: CallEngineOptions) {
    this.clock = new SimClock(options.timeScale);
    this.media = new Media({
      clock: this.clock,
      origin: options.origin,
      after: (leg, simMs, fn) => this.after(leg, simMs, fn),
      remoteHangsUp: (leg, note) => this.end(leg, 'hangup', 'remote', note),
      log: options.log,
    });
    this.runner = new SwmlRunner({
      control: this,
      deliveries: options.deliveries,
      spec: options.spec,
      space: options.space,
      log: options.log,
    });
  }

  // --- entry points ------------------------------------------------------------------------------------

  placeInboundCall(script: CallerScript): Leg {
    return this.receive(new Leg('inbound', script.from, script.to, { kind: 'caller', script }), script.giveUpAfterMs);
  }

  placeInboundFax(script: InboundFaxScript): Leg {
    return this.receive(new Leg('inbound', script.from, script.to, { kind: 'fax-sender', script }));
  }

  /** Runs a Calling API command whose body passed the spec; throws `CommandRejected` when SignalWire would refuse it. */
  command(body: Json): CommandOutcome {
    const command = String(body.command);
    const params = isObject(body.params) ? body.params : {};
    if (command === 'dial') {
      const leg = this.dial(params);
      return { response: callLeg(leg, 'queued'), callId: leg.callId, duplicate: false };
    }
    const callId = String(command === 'update' ? params.id : body.id);
    const leg = this.legs.get(callId);
    if (!leg || leg.hasEnded) throw rejections.callNotFound();
    const controlId = str(params.control_id);
    if (OPERATION_STARTS.has(command) && controlId !== undefined && leg.operations.has(controlId)) {
      return { response: callLeg(leg), callId, duplicate: true };
    }
    this.run(leg, command, params, controlId ?? '');
    return { response: callLeg(leg), callId, duplicate: false };
  }

  leg(callId: string): Leg | undefined {
    return this.legs.get(callId);
  }

  voiceLog(callId: string): unknown {
    const leg = this.legs.get(callId);
    return leg && voiceLog(leg);
  }

  record(leg: Leg): SignalWireCallRecord {
    return {
      callId: leg.callId,
      nodeId: leg.nodeId,
      direction: leg.direction,
      from: leg.from,
      to: leg.to,
      remote: leg.remote.kind === 'fax-sender' || leg.remote.kind === 'fax-receiver' ? 'fax' : 'person',
      state: leg.state,
      endReason: leg.endReason,
      endedBy: leg.endedBy,
      heard: [...leg.heard],
      digitsPressed: leg.digitsPressed,
      digitsSent: leg.digitsSent,
      bridgedWith: (leg.bridge ? (leg.bridge.owner === leg ? leg.bridge.peer : leg.bridge.owner) : leg.lastBridgedWith)
        ?.callId,
      recordings: leg.recordings.map((recording) => ({ ...recording })),
      faxes: leg.faxes.map((fax) => ({ ...fax })),
      documentsFetched: leg.documentsFetched,
      vars: { ...leg.vars },
      outcome: leg.milestones.length > 0 ? leg.milestones.join(', ') : leg.state,
    };
  }

  records(): SignalWireCallRecord[] {
    return [...this.legs.values()].map((leg) => this.record(leg));
  }

  /** Resolves once the leg has ended and its status callbacks are delivered or given up. */
  async waitForCallEnd(callId: string, timeoutMs: number): Promise<SignalWireCallRecord> {
    const leg = this.legs.get(callId);
    if (!leg) throw new Error(`no call ${callId}`);
    await untilCallFinished(
      callId,
      timeoutMs,
      async () => {
        if (leg.state !== 'ended') await new Promise<void>((resolve) => leg.endWaiters.push(resolve));
        await this.options.deliveries.idle(leg.callId);
      },
      () => `${this.record(leg).state}: ${this.record(leg).outcome}`,
    );
    return this.record(leg);
  }

  /** Pages of a fax the simulator received, for serving its document. */
  receivedFax(faxId: string): number | undefined {
    return this.receivedFaxPages.get(faxId);
  }

  /** Forgets legs that ended more than ten minutes ago. */
  sweep(now = Date.now()): void {
    for (const [id, leg] of this.legs) {
      if (leg.endedAt && now - leg.endedAt.getTime() > ENDED_CALL_RETENTION_MS) this.legs.delete(id);
    }
  }

  async close(): Promise<void> {
    for (const leg of this.legs.values()) {
      for (const timer of leg.timers) clearTimeout(timer);
      interrupt(leg.lifetime, 'closed');
      leg.endWaiters.splice(0).forEach((resolve) => resolve());
    }
    await this.media.close();
  }

  // --- CallControl (what documents do to legs) ----------------------------------------------------------

  callback(leg: Leg, url: string | undefined, eventType: string, params: Json): void {
    if (url)
      this.options.deliveries.sendCallback(leg.callId, url, statusCallback(this.options.space, leg, eventType, params));
  }

  answer(leg: Leg): void {
    if (leg.direction === 'inbound' && leg.state === 'created') this.answerLeg(leg);
  }

  /** Ends a leg and everything running on it. */
  end(leg: Leg, reason: string, by: 'remote' | 'app' | 'carrier', note: string): void {
    if (leg.hasEnded) return;
    leg.state = 'ended';
    leg.endedAt = new Date();
    leg.endReason = reason;
    leg.endedBy = by;
    for (const timer of leg.timers) clearTimeout(timer);
    leg.timers.clear();
    interrupt(leg.lifetime, 'ended');
    if (leg.bridge) this.endBridge(leg.bridge);
    this.emitState(leg);
    leg.milestones.push(note);
    this.options.log(`${leg.callId} ended: ${reason} (${by}: ${note})`);
    leg.endWaiters.splice(0).forEach((resolve) => resolve());
  }

  /** Runs `fn` after a simulated delay, unless the leg ends first. */
  after(leg: Leg, simMs: number, fn: () => void): void {
    const timer = setTimeout(() => {
      leg.timers.delete(timer);
      fn();
    }, this.clock.realMs(simMs));
    leg.timers.add(timer);
  }

  startOperation(leg: Leg, command: string, signal: AbortSignal) {
    const controlId = randomUUID();
    const operation: ActiveOperation = { command, controller: new AbortController() };
    leg.operations.set(controlId, operation);
    return {
      controlId,
      signal: AbortSignal.any([signal, operation.controller.signal]),
      finish: () => {
        if (leg.operations.get(controlId) === operation) leg.operations.delete(controlId);
      },
    };
  }

  findLeg(callId: string): Leg | undefined {
    return this.legs.get(callId);
  }

  dialForConnect(
    owner: Leg,
    options: { to: string; from: string; timeoutSeconds: number; stateUrl?: string; stateEvents?: string[] },
  ) {
    const leg = new Leg('outbound', options.from, options.to, this.remoteFor(options.to), owner);
    if (options.stateUrl)
      leg.stateCallbacks = { url: options.stateUrl, events: new Set(options.stateEvents ?? ['ended']) };
    this.legs.set(leg.callId, leg);
    return { leg, answered: this.ring(leg, options.timeoutSeconds) };
  }

  /** Bridges two answered legs; a leg that was running its own document is taken over until the bridge ends. */
  bridge(owner: Leg, peer: Leg, peerOriginated: boolean, statusUrl: string | undefined): Bridge {
    const bridge: Bridge = { owner, peer, peerOriginated, controller: new AbortController(), statusUrl };
    owner.bridge = bridge;
    peer.bridge = bridge;
    if (!peerOriginated && peer.document?.method) interrupt(peer.document.method, 'preempted');
    owner.milestones.push(`bridged to ${peer.party}`);
    peer.milestones.push(`bridged to ${owner.party}`);
    return bridge;
  }

  /**
   * Takes a bridge down. The owner's `connect` then returns (if the owner is still there); a peer the
   * connect dialed has nothing left to do and is hung up, unless it leaves for a document of its own
   * (`redirectedPeer`, an `update`); a peer that had its own document resumes it.
   */
  endBridge(bridge: Bridge, redirectedPeer?: Leg): void {
    const { owner, peer } = bridge;
    if (owner.bridge !== bridge) return;
    owner.bridge = undefined;
    peer.bridge = undefined;
    owner.lastBridgedWith = peer;
    peer.lastBridgedWith = owner;
    interrupt(bridge.controller, 'stopped');
    this.callback(owner, bridge.statusUrl, 'calling.call.connect', {
      connect_state: 'disconnected',
      peer: { call_id: peer.callId, node_id: peer.nodeId, device: device(peer) },
    });
    if (bridge.peerOriginated && !peer.hasEnded && peer !== redirectedPeer) {
      this.end(peer, 'hangup', 'carrier', owner.hasEnded ? `${owner.party} hung up` : 'disconnected');
    }
  }

  storeReceivedFax(pages: number): string {
    const faxId = randomUUID();
    this.receivedFaxPages.set(faxId, pages);
    return `${this.options.origin()}/_sim/faxes/${faxId}.pdf`;
  }

  limitDuration(leg: Leg, seconds: number): void {
    this.after(leg, seconds * 1000, () => this.end(leg, 'maxDuration', 'carrier', 'time limit reached'));
  }

  // --- legs --------------------------------------------------------------------------------------------

  /** An inbound call: SignalWire fetches the space's SWML URL and runs what comes back. */
  private receive(leg: Leg, giveUpAfterMs: number = SIM_MS.callerGivesUp): Leg {
    this.legs.set(leg.callId, leg);
    this.emitState(leg);
    this.after(leg, giveUpAfterMs, () => {
      if (leg.state === 'created') this.end(leg, 'cancel', 'remote', 'caller gave up before answer');
    });
    this.runner.start(leg, { kind: 'url', url: this.options.swmlUrl(), method: 'POST', params: {} });
    return leg;
  }

  /** REST `dial`: rings the number as its script says, then runs the dial's `url` or `swml` on the answered leg. */
  private dial(params: Json): Leg {
    const to = str(params.to);
    const from = String(params.from);
    if (!to) throw rejections.invalidValue('params.to', 'to is required (to_script is not simulated)');
    if (!isPhoneNumber(to) && !SIP_URI.test(to))
      throw rejections.invalidValue('params.to', 'to must be an E.164 number or a SIP URI');
    if (!isPhoneNumber(from) && !SIP_URI.test(from))
      throw rejections.invalidValue('params.from', 'from must be an E.164 number or a SIP URI');
    const leg = new Leg('outbound', from, to, this.remoteFor(to));
    const statusUrl = str(params.status_url);
    if (statusUrl) {
      const events = Array.isArray(params.status_events)
        ? params.status_events.filter((e): e is string => typeof e === 'string')
        : ['ended'];
      leg.stateCallbacks = { url: statusUrl, events: new Set(events) };
    }
    if (isObject(params.custom_variables))
      leg.envs = Object.fromEntries(Object.entries(params.custom_variables).map(([k, v]) => [k, String(v)]));
    const url = str(params.url);
    leg.documentUrl = url;
    const source: DocumentSource = url
      ? {
          kind: 'url',
          url,
          method: params.url_method === 'GET' ? 'GET' : 'POST',
          params: {},
          fallbackUrl: str(params.fallback_url),
        }
      : { kind: 'inline', document: params.swml };
    this.legs.set(leg.callId, leg);
    void this.ring(leg, num(params.timeout, DEFAULT_RING_TIMEOUT_SECONDS)).then((answered) => {
      if (answered) this.runner.start(leg, source);
    });
    return leg;
  }

  private remoteFor(number: string): RemoteParty {
    const fax = this.options.faxes[number];
    if (fax) return { kind: 'fax-receiver', script: fax };
    return { kind: 'agent', script: scriptedAgent(this.options.agents, number) ?? { behaviour: 'answer' } };
  }

  /** Rings a leg we placed; resolves true once it answers, false if it ends first (busy, no answer, cancelled). */
  private ring(leg: Leg, timeoutSeconds: number): Promise<boolean> {
    return new Promise((resolve) => {
      leg.lifetime.signal.addEventListener('abort', () => resolve(false), { once: true });
      this.emitState(leg);
      this.after(leg, SIM_MS.ringing, () => {
        if (leg.state !== 'created') return;
        leg.state = 'ringing';
        this.emitState(leg);
      });
      const timeoutMs = timeoutSeconds * 1000;
      const plan = this.ringPlan(leg);
      if (plan === 'busy') {
        this.after(leg, SIM_MS.busyAfter, () => this.end(leg, 'busy', 'remote', 'busy'));
      } else if (plan === 'no-answer' || plan.answerAfterMs >= timeoutMs) {
        this.after(leg, timeoutMs, () => this.end(leg, 'noAnswer', 'carrier', 'no answer'));
      } else {
        this.after(leg, plan.answerAfterMs, () => {
          this.answerLeg(leg);
          resolve(true);
        });
      }
    });
  }

  private ringPlan(leg: Leg): 'busy' | 'no-answer' | { answerAfterMs: number } {
    const { remote } = leg;
    if (remote.kind === 'fax-receiver') {
      const attempt = (this.dialsByNumber.get(leg.to) ?? 0) + 1;
      this.dialsByNumber.set(leg.to, attempt);
      if (remote.script.outcome === 'busy' || attempt <= (remote.script.attemptsBeforeSuccess ?? 0)) return 'busy';
      return remote.script.outcome === 'no-answer' ? 'no-answer' : { answerAfterMs: SIM_MS.defaultAnswerAfter };
    }
    const script: AgentScript = remote.kind === 'agent' ? remote.script : { behaviour: 'answer' };
    if (script.behaviour !== 'answer') return script.behaviour;
    return { answerAfterMs: script.answerAfterMs ?? SIM_MS.defaultAnswerAfter };
  }

  private answerLeg(leg: Leg): void {
    leg.state = 'answered';
    leg.answeredAt = new Date();
    this.emitState(leg);
    leg.milestones.push('answered');
    const { remote } = leg;
    const hangupAfter = remote.kind === 'caller' || remote.kind === 'agent' ? remote.script.hangupAfterMs : undefined;
    if (hangupAfter !== undefined) {
      const note = remote.kind === 'caller' ? 'caller hung up' : `${leg.to} hung up`;
      this.after(leg, hangupAfter, () => this.end(leg, 'hangup', 'remote', note));
    }
    if (remote.kind === 'fax-sender' || remote.kind === 'fax-receiver') {
      this.after(leg, SIM_MS.faxStationWaits, () => {
        const faxing = [...leg.operations.values()].some(
          (op) => op.command === 'send_fax' || op.command === 'receive_fax',
        );
        if (!faxing && leg.faxes.length === 0) this.end(leg, 'hangup', 'remote', 'fax machine gave up waiting');
      });
    }
  }

  /** `calling.call.state` to the dial's status_url (the events it asked for) and, for inbound calls, the number's webhook. */
  private emitState(leg: Leg): void {
    const targets = [
      leg.stateCallbacks?.events.has(leg.state) ? leg.stateCallbacks.url : undefined,
      leg.direction === 'inbound' ? this.options.statusChangeUrl : undefined,
    ];
    for (const url of targets) this.callback(leg, url, 'calling.call.state', callStateParams(leg));
  }

  // --- REST commands on a call --------------------------------------------------------------------------

  private run(leg: Leg, command: string, params: Json, controlId: string): void {
    if (OPERATION_STOPS.has(command)) {
      // Stopping an operation that already finished changes nothing [unconfirmed what SignalWire answers].
      const operation = leg.operations.get(controlId);
      if (operation) interrupt(operation.controller, 'stopped');
      return;
    }
    if (OPERATION_CONTROLS.has(command)) return leg.operations.get(controlId)?.control?.(command, params);
    if (ACKNOWLEDGED_ONLY.has(command)) return this.options.log(`${command} on ${leg.callId} accepted`);
    switch (command) {
      case 'update':
        return this.update(leg, params);
      case 'calling.end':
        return this.end(leg, str(params.reason) ?? 'hangup', 'app', 'hung up by the app');
      case 'calling.transfer':
        return this.transfer(leg, params.dest);
      case 'calling.disconnect':
        if (leg.bridge) this.endBridge(leg.bridge);
        return;
      case 'calling.play':
        return this.play(leg, params, controlId);
      case 'calling.collect':
        return this.collect(leg, params, controlId);
      case 'calling.record':
        return this.recordAudio(leg, params, controlId);
      case 'calling.detect':
        return this.detect(leg, params, controlId);
      case 'calling.tap':
      case 'calling.stream':
        return this.fork(leg, command, params, controlId);
      // Detection and media (issue 10 item 4).
      case 'calling.live_transcribe':
        // Transcripts go to the action's own webhook; the simulator transcribes nothing.
        leg.milestones.push(params.action === 'stop' ? 'transcription stopped' : 'transcribing');
        return;
      case 'calling.refer':
        return this.refer(leg, params);
      default:
        throw rejections.notSimulated();
    }
  }

  /** `update`: end by status, or redirect to a new document (only while answered; see update-rules.ts). */
  private update(leg: Leg, params: Json): void {
    if (params.status === 'canceled') {
      if (leg.state !== 'created' && leg.state !== 'ringing') {
        throw rejections.updateNotAllowed(
          'status',
          `status "canceled" is only allowed while the call is queued or ringing, not ${leg.state}`,
        );
      }
      return this.end(leg, 'cancel', 'app', 'cancelled by the app');
    }
    if (params.status === 'completed') {
      if (!leg.isUp)
        throw rejections.updateNotAllowed(
          'status',
          `status "completed" is only allowed while the call is answered, not ${leg.state}`,
        );
      return this.end(leg, 'hangup', 'app', 'hung up by the app');
    }
    if (!leg.isUp)
      throw rejections.updateNotAllowed('url', `a call can only be redirected while it is answered, not ${leg.state}`);
    // The leg a `connect` bridged in leaves the bridge for its new document [inference: the docs do not say];
    // the owner's connect returns, as when the peer hangs up.
    if (leg.bridge && leg.bridge.peer === leg) this.endBridge(leg.bridge, leg);
    const url = str(params.url);
    this.runner.start(
      leg,
      url
        ? { kind: 'url', url, method: 'POST', params: {}, fallbackUrl: str(params.fallback_url) }
        : { kind: 'inline', document: params.swml },
    );
  }

  /** `calling.transfer`: an inline document, a SWML URL, or a number / SIP URI to connect the call to. */
  private transfer(leg: Leg, dest: unknown): void {
    if (isObject(dest)) return this.runner.start(leg, { kind: 'inline', document: dest });
    const target = String(dest);
    if (/^https?:\/\//i.test(target))
      return this.runner.start(leg, { kind: 'url', url: target, method: 'POST', params: {} });
    if (!isPhoneNumber(target) && !SIP_URI.test(target)) {
      throw rejections.invalidValue(
        'params.dest',
        'dest must be a SWML document, a SWML URL, a phone number or a SIP URI',
      );
    }
    this.runner.start(leg, {
      kind: 'inline',
      document: { version: '1.0.0', sections: { main: [{ connect: { to: target } }, { hangup: {} }] } },
    });
  }

  /** Runs a REST-started operation under the caller's control_id until it finishes or is stopped. */
  private operation(
    leg: Leg,
    command: string,
    controlId: string,
    work: (signal: AbortSignal) => Promise<void>,
    control?: ActiveOperation['control'],
  ): void {
    const operation: ActiveOperation = { command, controller: new AbortController(), control };
    leg.operations.set(controlId, operation);
    work(AbortSignal.any([leg.lifetime.signal, operation.controller.signal]))
      .catch((err: unknown) => {
        if (!(err instanceof Interrupted))
          this.options.log(
            `BUG: ${command} on ${leg.callId} failed: ${err instanceof Error ? err.stack : String(err)}`,
          );
      })
      .finally(() => {
        if (leg.operations.get(controlId) === operation) leg.operations.delete(controlId);
      });
  }

  private play(leg: Leg, params: Json, controlId: string): void {
    const items = Array.isArray(params.play) ? params.play.filter(isObject) : [];
    const sounds = items.map((item) =>
      restSound({ type: String(item.type), params: isObject(item.params) ? item.params : {} }),
    );
    // loop 0 plays forever; a playlist of no length plays once rather than spin.
    const loop = soundsLength(sounds) > 0 ? num(params.loop, 1) : 1;
    const statusUrl = str(params.status_url);
    const report = (state: string) =>
      this.callback(leg, statusUrl, 'calling.call.play', { control_id: controlId, state });
    const control = (action: string) => {
      if (action === 'calling.play.pause') report('paused');
      if (action === 'calling.play.resume') report('playing');
    };
    this.operation(
      leg,
      'calling.play',
      controlId,
      async (signal) => {
        report('playing');
        try {
          for (let played = 0; loop === 0 || played < loop; played++) await this.media.play(leg, sounds, signal);
        } catch (err) {
          if (!(err instanceof Interrupted) || err.reason !== 'stopped') throw err;
        }
        report('finished');
      },
      control,
    );
  }

  private collect(leg: Leg, params: Json, controlId: string): void {
    const digits = isObject(params.digits) ? params.digits : undefined;
    if (!digits && !isObject(params.speech)) throw rejections.collectWithoutInput();
    const settings = {
      max: num(digits?.max, 1),
      terminators: str(digits?.terminators) ?? '',
      digitTimeoutMs: num(digits?.digit_timeout, 5) * 1000,
      initialTimeoutMs: num(params.initial_timeout, 5) * 1000,
    };
    let startTimers = () => {};
    const timers: InputTimers = {
      running: params.start_input_timers === true,
      started:
        params.start_input_timers === true ? Promise.resolve() : new Promise((resolve) => (startTimers = resolve)),
    };
    const index = leg.inputsStarted++;
    if (leg.remote.kind === 'caller' && leg.remote.script.hangupDuringPrompt === index) {
      this.after(leg, 0, () => this.end(leg, 'hangup', 'remote', 'caller hung up during the menu'));
    }
    const statusUrl = str(params.status_url);
    const control = (action: string) => {
      if (action !== 'calling.collect.start_input_timers') return;
      timers.running = true;
      startTimers();
    };
    this.operation(
      leg,
      'calling.collect',
      controlId,
      async (signal) => {
        let result: CollectResult;
        try {
          result = digits
            ? await this.media.collectDigits(leg, index, settings, signal, timers)
            : await timers.started
                .then(() => this.clock.delay(settings.initialTimeoutMs, signal))
                .then(() => ({ type: 'no_input' as const }));
        } catch (err) {
          // A stopped collect reports that no input came [inference: the docs list no "stopped" result].
          if (!(err instanceof Interrupted) || err.reason !== 'stopped') throw err;
          result = { type: 'no_input' };
        }
        if (result.type === 'digit' && params.send_start_of_input === true) {
          this.callback(leg, statusUrl, 'calling.call.collect', {
            control_id: controlId,
            result: { type: 'start_of_input' },
          });
        }
        leg.milestones.push(
          result.type === 'digit'
            ? `pressed ${result.digits}`
            : result.type === 'no_input'
              ? 'stayed silent'
              : 'pressed invalid input',
        );
        this.callback(leg, statusUrl, 'calling.call.collect', {
          control_id: controlId,
          result: collectResultParams(result),
          ...(params.partial_results === true ? { final: true } : {}),
          ...(params.continuous === true ? { state: 'finished' } : {}),
        });
      },
      control,
    );
  }

  private recordAudio(leg: Leg, params: Json, controlId: string): void {
    const audio = isObject(params.record) && isObject(params.record.audio) ? params.record.audio : {};
    const format = audio.format === 'wav' || audio.format === 'mp4' ? audio.format : 'mp3';
    const direction = audio.direction === 'listen' || audio.direction === 'both' ? audio.direction : 'speak';
    // REST defaults (research notes §2): initial 4 s, end silence 0.5 s, no length limit.
    const settings = {
      beep: audio.beep === true,
      format,
      initialTimeoutMs: num(audio.initial_timeout, 4) * 1000,
      endSilenceTimeoutMs: num(audio.end_silence_timeout, 0.5) * 1000,
      maxLengthMs: num(audio.max_length, 0) * 1000,
    } as const;
    const statusUrl = str(params.status_url);
    const config = { record: { audio: { format, direction, stereo: audio.stereo === true } } };
    const report = (fields: Json) =>
      this.callback(leg, statusUrl, 'calling.call.record', { control_id: controlId, ...fields, ...config });
    const control = (action: string, controlParams: Json) => {
      if (action === 'calling.record.pause')
        report({ state: 'paused', pause_behavior: controlParams.behavior === 'silence' ? 'silence' : 'skip' });
      if (action === 'calling.record.resume') report({ state: 'recording' });
    };
    this.operation(
      leg,
      'calling.record',
      controlId,
      async (signal) => {
        const recording = await this.media.record(leg, settings, signal, () => report({ state: 'recording' }));
        report(recordingParams(recording));
      },
      control,
    );
  }

  private detect(leg: Leg, params: Json, controlId: string): void {
    const config = isObject(params.detect) ? params.detect : {};
    const type = config.type === 'fax' || config.type === 'digit' ? config.type : 'machine';
    const detectParams = isObject(config.params) ? config.params : {};
    const statusUrl = str(params.status_url);
    const report = (detectType: string, event: string, beep?: boolean) =>
      this.callback(leg, statusUrl, 'calling.call.detect', {
        control_id: controlId,
        detect: { type: detectType, params: { event, ...(beep ? { beep: true } : {}) } },
      });
    const timeoutMs = num(params.timeout, 30) * 1000;
    this.operation(leg, 'calling.detect', controlId, async (signal) => {
      try {
        if (type === 'machine') {
          await this.media.detectMachine(leg, { amd: true, fax: false }, signal, (found) =>
            report(found.type, found.event, found.beep),
          );
          return;
        }
        const tone = type === 'fax' ? await this.media.detectFaxTone(leg, str(detectParams.tone), signal) : undefined;
        if (tone) report('fax', tone);
        else await this.clock.delay(timeoutMs, signal);
      } catch (err) {
        if (!(err instanceof Interrupted) || err.reason !== 'stopped') throw err;
      }
      report(type, 'finished');
    });
  }

  /**
   * `calling.refer` (issue 10 item 4): the far end accepts the REFER (202), its NOTIFY says 200, and the call
   * leaves us: `calling.call.refer` with `state: success`, then the leg ends.
   */
  private refer(leg: Leg, params: Json): void {
    if (!leg.isUp)
      throw rejections.invalidValue('id', `a call can only be referred while it is answered, not ${leg.state}`);
    const device = isObject(params.device) && isObject(params.device.params) ? params.device.params : {};
    const to = str(device.to) ?? '';
    const statusUrl = str(params.status_url);
    this.after(leg, SIM_MS.ringing, () => {
      this.callback(leg, statusUrl, 'calling.call.refer', {
        sip_refer_to: to,
        state: 'success',
        sip_refer_response_code: '202',
        sip_notify_response_code: '200',
      });
      this.end(leg, 'hangup', 'remote', `referred to ${to}`);
    });
  }

  /** `calling.tap` / `calling.stream`: running from the start until stopped or the call ends. */
  private fork(leg: Leg, command: 'calling.tap' | 'calling.stream', params: Json, controlId: string): void {
    const statusUrl = str(params.status_url);
    const eventType = command === 'calling.tap' ? 'calling.call.tap' : 'calling.call.stream';
    const details: Json =
      command === 'calling.tap'
        ? { tap: params.tap, device: params.device }
        : { url: params.url, ...(str(params.name) ? { name: params.name } : {}) };
    const report = (state: string) =>
      this.callback(leg, statusUrl, eventType, { control_id: controlId, state, ...details });
    this.operation(leg, command, controlId, async (signal) => {
      report(command === 'calling.tap' ? 'tapping' : 'streaming');
      await this.clock.untilAborted(signal);
      report('finished');
    });
  }
}
