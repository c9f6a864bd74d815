import { parse as parseYaml } from 'yaml';
import type { Deliveries } from './delivery';
import type { SimClock } from '../clock';
import { interrupt, Interrupted, interruptReason, type Bridge, type Leg } from './leg';
import {
  DEFAULT_FAX_PAGES,
  SIM_MS,
  soundsLength,
  swmlSound,
  type CollectResult,
  type FaxOutcome,
  type FinishedRecording,
  type Media,
} from './media';
import type { Conferences } from '../conferences';
import { device, documentFetchBody, type Space } from './payloads';
import { SCHEMAS, type SignalWireSpecValidator } from './spec';

/**
 * Runs SWML documents on a leg, as SignalWire does for the inbound-call fetch, a dial's `url` or `swml`, an
 * `update` redirect and `calling.transfer`: method by method, setting the variables each method documents,
 * sending its status callbacks, and fetching the next document on a `transfer`/`execute` to a URL with
 * every variable set so far in `vars`. A document that runs out hangs the call up [unconfirmed: the docs do
 * not say]; a fetch that yields no valid document (after retries and the fallback URL) ends the call.
 */

type Json = Record<string, unknown>;
type Method = Json;
interface Document {
  sections: Record<string, Method[]>;
}

/** Where a document comes from: a URL to fetch, or an inline document (dial `swml`, `calling.transfer`). */
export type DocumentSource =
  | { kind: 'url'; url: string; method: 'GET' | 'POST'; params: Json; fallbackUrl?: string }
  | { kind: 'inline'; document: unknown };

type Jump = { source: DocumentSource } | { document: Document; section: string };

/** How a method or a section ended. */
type Outcome = { kind: 'next' } | { kind: 'jump'; to: Jump } | { kind: 'return' } | { kind: 'hangup' };
const NEXT: Outcome = { kind: 'next' };

/** What the runner needs from the engine that owns the legs. */
export interface CallControl {
  readonly clock: SimClock;
  readonly media: Media;
  /** Sends a status callback to `url`, if there is one. */
  callback(leg: Leg, url: string | undefined, eventType: string, params: Json): void;
  /** Answers an inbound leg that is not answered yet. */
  answer(leg: Leg): void;
  end(leg: Leg, reason: string, by: 'remote' | 'app' | 'carrier', note: string): void;
  after(leg: Leg, simMs: number, fn: () => void): void;
  /** Registers an operation under a server-assigned control_id, so `calling.*.stop` can reach it. */
  startOperation(
    leg: Leg,
    command: string,
    signal: AbortSignal,
  ): { controlId: string; signal: AbortSignal; finish: () => void };
  findLeg(callId: string): Leg | undefined;
  /** Dials a leg for `connect`; resolves true once it answers, false if it ends first. */
  dialForConnect(
    owner: Leg,
    options: { to: string; from: string; timeoutSeconds: number; stateUrl?: string; stateEvents?: string[] },
  ): { leg: Leg; answered: Promise<boolean> };
  bridge(owner: Leg, peer: Leg, peerOriginated: boolean, statusUrl: string | undefined): Bridge;
  endBridge(bridge: Bridge): void;
  /** A received fax's document, served by the simulator; returns its URL. */
  storeReceivedFax(pages: number): string;
  limitDuration(leg: Leg, seconds: number): void;
  /** The space's conferences (`join_conference`). */
  readonly conferences: Conferences;
}

export interface SwmlRunnerDeps {
  control: CallControl;
  deliveries: Deliveries;
  spec?: SignalWireSpecValidator;
  space: Space;
  log: (line: string) => void;
}

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const str = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);
const num = (value: unknown, fallback: number): number =>
  typeof value === 'number' && Number.isFinite(value) ? value : fallback;
const seconds = (value: unknown, fallback: number) => num(value, fallback) * 1000;

export class SwmlRunner {
  constructor(private readonly deps: SwmlRunnerDeps) {}

  /** Runs a document on the leg, replacing (interrupting) the one running now. */
  start(leg: Leg, source: DocumentSource): void {
    if (leg.document) interrupt(leg.document.controller, 'redirected');
    const controller = new AbortController();
    const run = { controller };
    leg.document = run;
    const signal = AbortSignal.any([leg.lifetime.signal, controller.signal]);
    this.run(leg, { source }, signal)
      .then((ranOut) => {
        if (ranOut && leg.document === run && !leg.hasEnded)
          this.deps.control.end(leg, 'hangup', 'app', 'document ran out');
      })
      .catch((err: unknown) => {
        if (!(err instanceof Interrupted))
          this.deps.log(`BUG: SWML run on ${leg.callId} failed: ${err instanceof Error ? err.stack : String(err)}`);
      });
  }

  /** Follows transfers until a document ends (true) or hangs up (false); throws `Interrupted` when cut short. */
  private async run(leg: Leg, first: Jump, signal: AbortSignal): Promise<boolean> {
    let next: Jump | undefined = first;
    while (next) {
      const target: { document: Document; section: string } | undefined =
        'source' in next
          ? await this.load(leg, next.source, signal).then((document) => document && { document, section: 'main' })
          : next;
      if (!target) {
        this.deps.control.end(leg, 'error', 'carrier', 'no valid SWML document');
        return false;
      }
      const outcome = await this.section(leg, target.document, target.section, signal);
      if (outcome.kind === 'hangup') return false;
      next = outcome.kind === 'jump' ? outcome.to : undefined;
    }
    return true;
  }

  /** Fetches (with the fallback URL after a failure) or takes an inline document, and checks it against the spec. */
  private async load(leg: Leg, source: DocumentSource, signal: AbortSignal): Promise<Document | undefined> {
    let candidate: unknown = source.kind === 'inline' ? source.document : undefined;
    if (source.kind === 'url') {
      for (const url of [source.url, source.fallbackUrl]) {
        if (!url) continue;
        leg.documentsFetched++;
        const body = source.method === 'POST' ? documentFetchBody(this.deps.space, leg, source.params) : undefined;
        const fetched = await this.deps.deliveries.fetchDocument(leg.callId, url, source.method, body);
        if (signal.aborted) throw new Interrupted(interruptReason(signal));
        if (!fetched.ok) continue;
        candidate = parseDocument(fetched.text);
        break;
      }
    }
    if (typeof candidate === 'string') candidate = parseDocument(candidate);
    const errors = this.documentErrors(candidate);
    if (errors.length > 0) {
      this.deps.log(`${leg.callId}: no valid SWML document (${errors.slice(0, 3).join('; ')})`);
      return undefined;
    }
    return candidate as Document;
  }

  private documentErrors(candidate: unknown): string[] {
    if (candidate === undefined) return ['nothing fetched'];
    if (this.deps.spec) return this.deps.spec.schemaErrors(SCHEMAS.swmlDocument, candidate);
    const main = isObject(candidate) && isObject(candidate.sections) ? candidate.sections.main : undefined;
    return Array.isArray(main) ? [] : ['sections.main is not a list of methods'];
  }

  private async section(leg: Leg, document: Document, name: string, signal: AbortSignal): Promise<Outcome> {
    const methods = document.sections[name];
    if (!methods) {
      this.deps.log(`${leg.callId}: no section "${name}"; the document ends`);
      return { kind: 'return' };
    }
    for (const method of methods) {
      await this.whileHeldByBridge(leg, signal);
      // A bridge that takes this leg over (`connect` to `call:<id>`) preempts the method it is in.
      const preemption = new AbortController();
      if (leg.document) leg.document.method = preemption;
      let outcome: Outcome;
      try {
        outcome = await this.method(leg, document, method, AbortSignal.any([signal, preemption.signal]));
      } catch (err) {
        if (err instanceof Interrupted && err.reason === 'preempted' && !signal.aborted) continue;
        throw err;
      }
      if (outcome.kind !== 'next') return outcome;
    }
    return { kind: 'return' };
  }

  /** A leg bridged in by another leg's `connect` resumes its own document only once that bridge is over. */
  private async whileHeldByBridge(leg: Leg, signal: AbortSignal): Promise<void> {
    const bridge = leg.bridge;
    if (!bridge || bridge.peer !== leg || bridge.peerOriginated) return;
    await this.deps.control.clock.untilAborted(AbortSignal.any([bridge.controller.signal, signal]));
    if (signal.aborted) throw new Interrupted(interruptReason(signal));
  }

  private async method(leg: Leg, document: Document, method: Method, signal: AbortSignal): Promise<Outcome> {
    const [name, raw] = Object.entries(method)[0] ?? ['', undefined];
    const params = isObject(raw) ? raw : {};
    const { control } = this.deps;
    switch (name) {
      case 'answer':
        control.answer(leg);
        leg.vars.answer_result = 'success';
        if (typeof params.max_duration === 'number') control.limitDuration(leg, params.max_duration);
        return NEXT;
      case 'hangup':
        control.end(leg, str(params.reason) ?? 'hangup', 'app', 'hung up by the app');
        return { kind: 'hangup' };
      case 'play':
        return this.play(leg, params, signal);
      case 'prompt':
        return this.prompt(leg, params, signal);
      case 'record':
        return this.record(leg, params, signal);
      case 'connect':
        return this.connect(leg, params, signal);
      case 'send_digits':
        return this.sendDigits(leg, str(params.digits) ?? '', signal);
      case 'send_fax':
      case 'receive_fax':
        return this.fax(leg, name === 'send_fax' ? 'send' : 'receive', params, signal);
      case 'detect_machine':
        return this.detectMachine(leg, params, signal);
      case 'join_conference':
        return this.joinConference(leg, params, signal);
      case 'sleep': {
        const duration = typeof raw === 'number' ? raw : num(params.duration, 0);
        // -1 sleeps until something else (an update, a hang-up) moves the call on.
        if (duration < 0) {
          await control.clock.untilAborted(signal);
          throw new Interrupted(interruptReason(signal));
        }
        await control.clock.delay(duration, signal);
        return NEXT;
      }
      case 'set':
        for (const [key, value] of Object.entries(params))
          leg.vars[key] = typeof value === 'string' ? value : JSON.stringify(value);
        return NEXT;
      case 'unset':
        for (const key of Array.isArray(raw) ? raw : [raw]) if (typeof key === 'string') delete leg.vars[key];
        return NEXT;
      case 'transfer':
        return {
          kind: 'jump',
          to: this.destination(document, str(params.dest) ?? '', isObject(params.params) ? params.params : {}),
        };
      case 'execute':
        return this.execute(leg, document, params, signal);
      case 'return':
        return { kind: 'return' };
      default:
        this.deps.log(`${leg.callId}: SWML method "${name}" is not simulated; skipped`);
        return NEXT;
    }
  }

  private destination(document: Document, dest: string, params: Json): Jump {
    if (/^https?:\/\//i.test(dest)) return { source: { kind: 'url', url: dest, method: 'POST', params } };
    if (dest.trim().startsWith('{')) return { source: { kind: 'inline', document: dest } };
    return { document, section: dest };
  }

  /** `execute`: a section or document run as a subroutine; the current one continues after it returns. */
  private async execute(leg: Leg, document: Document, params: Json, signal: AbortSignal): Promise<Outcome> {
    const to = this.destination(document, str(params.dest) ?? '', isObject(params.params) ? params.params : {});
    const target =
      'source' in to
        ? await this.load(leg, to.source, signal).then((loaded) => loaded && { document: loaded, section: 'main' })
        : to;
    if (!target) {
      this.deps.control.end(leg, 'error', 'carrier', 'no valid SWML document');
      return { kind: 'hangup' };
    }
    const outcome = await this.section(leg, target.document, target.section, signal);
    return outcome.kind === 'return' ? NEXT : outcome;
  }

  /** Runs `work` as an operation with a server-assigned control_id; `calling.*.stop` ends it early. */
  private async operation<T>(
    leg: Leg,
    command: string,
    signal: AbortSignal,
    work: (controlId: string, opSignal: AbortSignal) => Promise<T>,
  ): Promise<T | 'stopped'> {
    const op = this.deps.control.startOperation(leg, command, signal);
    try {
      return await work(op.controlId, op.signal);
    } catch (err) {
      if (err instanceof Interrupted && err.reason === 'stopped' && !signal.aborted) return 'stopped';
      throw err;
    } finally {
      op.finish();
    }
  }

  private async play(leg: Leg, params: Json, signal: AbortSignal): Promise<Outcome> {
    const { control } = this.deps;
    const urls = Array.isArray(params.urls) ? params.urls : [params.url];
    const sounds = urls.filter((url): url is string => typeof url === 'string').map(swmlSound);
    if (params.auto_answer !== false) control.answer(leg);
    const statusUrl = str(params.status_url);
    let controlId = '';
    await this.operation(leg, 'play', signal, async (id, opSignal) => {
      controlId = id;
      control.callback(leg, statusUrl, 'calling.call.play', { control_id: id, state: 'playing' });
      await control.media.play(leg, sounds, opSignal);
    });
    control.callback(leg, statusUrl, 'calling.call.play', { control_id: controlId, state: 'finished' });
    return NEXT;
  }

  private async prompt(leg: Leg, params: Json, signal: AbortSignal): Promise<Outcome> {
    const { control } = this.deps;
    control.answer(leg);
    const index = leg.inputsStarted++;
    const sounds = (Array.isArray(params.play) ? params.play : [params.play])
      .filter((p): p is string => typeof p === 'string')
      .map(swmlSound);
    // Setting any speech parameter turns digits off unless a digit parameter is set too (prompt docs).
    const speech = ['speech_timeout', 'speech_end_timeout', 'speech_language', 'speech_hints'].some(
      (key) => key in params,
    );
    const digitsOn =
      !speech || ['max_digits', 'terminators', 'digit_timeout', 'initial_timeout'].some((key) => key in params);
    const settings = {
      max: digitsOn ? num(params.max_digits, 1) : 0,
      terminators: str(params.terminators) ?? '',
      digitTimeoutMs: seconds(params.digit_timeout, 5),
      initialTimeoutMs: seconds(params.initial_timeout, 5),
    };
    const statusUrl = str(params.status_url);
    if (leg.remote.kind === 'caller' && leg.remote.script.hangupDuringPrompt === index) {
      control.after(leg, soundsLength(sounds) / 2, () =>
        control.end(leg, 'hangup', 'remote', 'caller hung up during the menu'),
      );
    }
    let controlId = '';
    const outcome = await this.operation(leg, 'prompt', signal, async (id, opSignal): Promise<CollectResult> => {
      controlId = id;
      await control.media.play(leg, sounds, opSignal);
      if (settings.max === 0) {
        await control.clock.delay(settings.initialTimeoutMs, opSignal);
        return { type: 'no_input' };
      }
      return control.media.collectDigits(leg, index, settings, opSignal);
    });
    const result: CollectResult = outcome === 'stopped' ? { type: 'no_input' } : outcome;
    for (const key of ['prompt_value', 'prompt_value_raw', 'prompt_digit_terminator', 'prompt_speech_confidence'])
      delete leg.vars[key];
    if (result.type === 'digit') {
      Object.assign(leg.vars, {
        prompt_result: 'match_digits',
        prompt_value: result.digits,
        prompt_value_raw: result.digits,
      });
      if (result.terminator) leg.vars.prompt_digit_terminator = result.terminator;
      leg.milestones.push(`pressed ${result.digits}`);
    } else {
      leg.vars.prompt_result = result.type;
      leg.milestones.push(result.type === 'no_input' ? 'stayed silent' : 'pressed invalid input');
    }
    control.callback(leg, statusUrl, 'calling.call.collect', {
      control_id: controlId,
      result: collectResultParams(result),
    });
    return NEXT;
  }

  private async record(leg: Leg, params: Json, signal: AbortSignal): Promise<Outcome> {
    const { control } = this.deps;
    control.answer(leg);
    const format = params.format === 'mp3' || params.format === 'mp4' ? params.format : 'wav';
    const settings = {
      beep: params.beep === true,
      format,
      initialTimeoutMs: seconds(params.initial_timeout, 4),
      endSilenceTimeoutMs: seconds(params.end_silence_timeout, 5),
      maxLengthMs: seconds(params.max_length, 0),
    } as const;
    const statusUrl = str(params.status_url);
    const op = control.startOperation(leg, 'record', signal);
    let recording: FinishedRecording;
    try {
      recording = await control.media.record(leg, settings, op.signal, () =>
        control.callback(leg, statusUrl, 'calling.call.record', { control_id: op.controlId, state: 'recording' }),
      );
    } finally {
      op.finish();
    }
    delete leg.vars.record_url;
    leg.vars.record_result = recording.state === 'finished' ? 'success' : 'failed';
    if (recording.state === 'finished') leg.vars.record_url = recording.url;
    leg.milestones.push(recording.state === 'finished' ? 'recorded a message' : 'recorded nothing');
    control.callback(leg, statusUrl, 'calling.call.record', {
      control_id: op.controlId,
      ...recordingParams(recording),
      record: {
        audio: {
          format,
          direction: params.direction === 'listen' ? 'listen' : 'speak',
          stereo: params.stereo === true,
        },
      },
    });
    if (signal.aborted) throw new Interrupted(interruptReason(signal));
    return NEXT;
  }

  /**
   * `connect` to a number (dialing a new leg, as its agent script says) or to `call:<id>` (bridging a leg
   * that exists). The method lasts as long as the bridge; then `connect_result` says how it went.
   */
  private async connect(leg: Leg, params: Json, signal: AbortSignal): Promise<Outcome> {
    const { control } = this.deps;
    const statusUrl = str(params.status_url);
    const to = str(params.to);
    const fail = (reason: string): Outcome => {
      Object.assign(leg.vars, { connect_result: 'failed', connect_failed_reason: reason, return_value: 'failed' });
      control.callback(leg, statusUrl, 'calling.call.connect', { connect_state: 'failed', failed_reason: reason });
      leg.milestones.push(`connect failed (${reason})`);
      return NEXT;
    };
    if (!to) {
      this.deps.log(`${leg.callId}: connect to serial/parallel destinations is not simulated`);
      return fail('error');
    }
    if (params.answer_on_bridge !== true) control.answer(leg);
    control.callback(leg, statusUrl, 'calling.call.connect', { connect_state: 'connecting' });
    let peer: Leg;
    const originated = !to.startsWith('call:');
    if (originated) {
      const dialed = control.dialForConnect(leg, {
        to,
        from: str(params.from) ?? leg.ourNumber,
        timeoutSeconds: num(params.timeout, 60),
        stateUrl: str(params.call_state_url),
        stateEvents: Array.isArray(params.call_state_events)
          ? params.call_state_events.filter((e): e is string => typeof e === 'string')
          : undefined,
      });
      peer = dialed.leg;
      const answered = await Promise.race([dialed.answered, control.clock.untilAborted(signal).then(() => false)]);
      if (signal.aborted) {
        control.end(peer, 'cancel', 'app', 'connect abandoned');
        throw new Interrupted(interruptReason(signal));
      }
      if (!answered) return fail(peer.endReason ?? 'error');
      if (params.confirm !== undefined) {
        await this.confirm(peer, params.confirm, signal);
        if (!peer.isUp) return fail(peer.endReason ?? 'error');
      }
    } else {
      const existing = control.findLeg(to.slice('call:'.length));
      if (!existing || existing === leg || !existing.isUp) return fail('notFound');
      if (existing.bridge) return fail('busy');
      peer = existing;
    }
    control.answer(leg);
    const bridge = control.bridge(leg, peer, originated, statusUrl);
    control.callback(leg, statusUrl, 'calling.call.connect', {
      connect_state: 'connected',
      peer: { call_id: peer.callId, node_id: peer.nodeId, device: device(peer) },
    });
    await control.clock.untilAborted(AbortSignal.any([bridge.controller.signal, signal]));
    if (signal.aborted) {
      control.endBridge(bridge);
      throw new Interrupted(interruptReason(signal));
    }
    Object.assign(leg.vars, { connect_result: 'connected', connect_failed_reason: 'none', return_value: 'connected' });
    return NEXT;
  }

  /**
   * `confirm`: SWML (inline methods, or a URL returning a document) run on the callee once it answered, before
   * the bridge; what it plays is what the callee hears. A callee that hangs up during it fails the connect.
   */
  private async confirm(peer: Leg, confirm: unknown, signal: AbortSignal): Promise<void> {
    const source: DocumentSource =
      typeof confirm === 'string'
        ? { kind: 'url', url: confirm, method: 'POST', params: {} }
        : { kind: 'inline', document: { version: '1.0.0', sections: { main: confirm } } };
    try {
      const document = await this.load(peer, source, signal);
      if (document) await this.section(peer, document, 'main', AbortSignal.any([signal, peer.lifetime.signal]));
      else this.deps.control.end(peer, 'error', 'carrier', 'no valid confirm SWML');
    } catch (err) {
      if (!(err instanceof Interrupted)) throw err;
    }
    if (signal.aborted) {
      this.deps.control.end(peer, 'cancel', 'app', 'connect abandoned');
      throw new Interrupted(interruptReason(signal));
    }
    if (peer.isUp) this.deps.log(`${peer.callId}: confirmed; heard ${JSON.stringify(peer.heard)}`);
  }

  private async sendDigits(leg: Leg, digits: string, signal: AbortSignal): Promise<Outcome> {
    const length = [...digits].reduce((ms, d) => ms + (d === 'w' ? 500 : d === 'W' ? 1_000 : SIM_MS.dtmfTone), 0);
    await this.deps.control.clock.delay(length, signal);
    leg.digitsSent += digits.replace(/[wW]/g, '');
    return NEXT;
  }

  /** `send_fax` / `receive_fax`: page callbacks, then `finished`, and the `<send|receive>_fax_*` variables. */
  private async fax(leg: Leg, direction: 'send' | 'receive', params: Json, signal: AbortSignal): Promise<Outcome> {
    const { control } = this.deps;
    control.answer(leg);
    const statusUrl = str(params.status_url);
    const remote = leg.remote;
    let plan: { pages: number; failOnPage?: number };
    if (direction === 'send') {
      const script = remote.kind === 'fax-receiver' ? remote.script : undefined;
      const pages =
        script?.pages ?? (await control.media.documentPages(str(params.document) ?? '')) ?? DEFAULT_FAX_PAGES;
      plan = { pages, failOnPage: script?.outcome === 'fail-on-page' ? (script.failOnPage ?? 1) : undefined };
    } else {
      plan =
        remote.kind === 'fax-sender'
          ? { pages: remote.script.pages, failOnPage: remote.script.failOnPage }
          : { pages: 0 };
    }
    const command = direction === 'send' ? 'send_fax' : 'receive_fax';
    const op = control.startOperation(leg, command, signal);
    let result: FaxOutcome;
    try {
      result = await control.media.transmitFax(leg, direction, plan, op.signal, (page) =>
        control.callback(leg, statusUrl, 'calling.call.fax', {
          control_id: op.controlId,
          fax: { type: 'page', params: { direction, number: page } },
        }),
      );
    } finally {
      op.finish();
    }
    const document =
      direction === 'send'
        ? (str(params.document) ?? '')
        : result.pages > 0
          ? control.storeReceivedFax(result.pages)
          : '';
    const isFaxMachine = remote.kind === 'fax-receiver' || remote.kind === 'fax-sender';
    const identity = direction === 'send' ? (str(params.identity) ?? leg.ourNumber) : leg.ourNumber;
    const remoteIdentity = isFaxMachine ? leg.party : '';
    Object.assign(leg.vars, {
      [`${command}_document`]: document,
      [`${command}_identity`]: identity,
      [`${command}_remote_identity`]: remoteIdentity,
      [`${command}_pages`]: String(result.pages),
      [`${command}_result_code`]: String(result.result.code),
      [`${command}_result_text`]: result.result.text,
      [`${command}_result`]: result.success ? 'success' : 'failed',
    });
    leg.faxes.push({
      direction,
      pages: result.pages,
      success: result.success,
      resultCode: result.result.code,
      resultText: result.result.text,
      document,
    });
    leg.milestones.push(
      `${direction === 'send' ? 'sent' : 'received'} ${result.pages} fax page${result.pages === 1 ? '' : 's'}${result.success ? '' : ' (failed)'}`,
    );
    control.callback(leg, statusUrl, 'calling.call.fax', {
      control_id: op.controlId,
      fax: {
        type: 'finished',
        params: {
          direction,
          identity,
          remote_identity: remoteIdentity,
          document,
          pages: result.pages,
          success: result.success,
          result: result.result.code,
          result_text: result.result.text,
          format: 'pdf',
        },
      },
    });
    if (isFaxMachine && !leg.hasEnded)
      control.after(leg, SIM_MS.faxStationHangsUp, () => control.end(leg, 'hangup', 'remote', 'fax machine hung up'));
    if (signal.aborted) throw new Interrupted(interruptReason(signal));
    return NEXT;
  }

  /** `detect_machine`: waits for the verdict, or with `wait: false` runs beside the rest of the call. */
  /**
   * `join_conference`: starts or joins the named conference and stays in it until the conference ends under
   * the member (a member with `end_on_exit` left, or it was the last), then sets `join_conference_result`
   * (`completed`: joined and left) and goes on with the document. A hang-up or a redirect takes the member out.
   */
  private async joinConference(leg: Leg, params: Json, signal: AbortSignal): Promise<Outcome> {
    const name = str(params.name) ?? '';
    if (signal.aborted) throw new Interrupted(interruptReason(signal));
    this.deps.control.answer(leg);
    // How the member takes part, as a supervisor test needs to see it.
    const how = [
      params.muted === true && 'muted',
      typeof params.coach === 'string' && `coaching ${params.coach}`,
      params.end_on_exit === true && 'ends it on exit',
    ].filter(Boolean);
    leg.milestones.push(`joined conference ${name}${how.length > 0 ? ` (${how.join(', ')})` : ''}`);
    let leave = () => {};
    try {
      await new Promise<void>((left, interrupted) => {
        leave = this.deps.control.conferences.join(name, {
          callSid: leg.callId,
          endsConference: params.end_on_exit === true,
          dropped: left,
        });
        signal.addEventListener('abort', () => interrupted(new Interrupted(interruptReason(signal))), { once: true });
      });
    } finally {
      leave();
      leg.milestones.push(`left conference ${name}`);
    }
    leg.vars.join_conference_result = 'completed';
    leg.vars.return_value = 'completed';
    return NEXT;
  }

  private async detectMachine(leg: Leg, params: Json, signal: AbortSignal): Promise<Outcome> {
    const { control } = this.deps;
    const statusUrl = str(params.status_url);
    const enabled = (str(params.detectors) ?? 'amd,fax').split(',').map((d) => d.trim());
    const detectors = { amd: enabled.includes('amd'), fax: enabled.includes('fax') };
    const startedAt = Date.now();
    leg.vars.detect_result = 'detecting';
    const detection = (scope: AbortSignal) =>
      this.operation(leg, 'detect', scope, async (controlId, opSignal) => {
        const found = await control.media.detectMachine(leg, detectors, opSignal, (detected) =>
          control.callback(leg, statusUrl, 'calling.call.detect', {
            control_id: controlId,
            detect: {
              type: detected.type,
              params: { event: detected.event, ...(detected.beep ? { beep: true } : {}) },
            },
          }),
        );
        Object.assign(leg.vars, {
          detect_result: found.verdict,
          detect_machine_beep: String(found.beep),
          detect_ms: String(Date.now() - startedAt),
        });
        leg.milestones.push(
          `answered by ${found.verdict === 'human' ? 'a human' : found.verdict === 'unknown' ? 'nobody known' : `a ${found.verdict}`}`,
        );
      });
    if (params.wait === false) {
      // The detector outlives this document: it stops only with the call (or calling.detect.stop).
      detection(leg.lifetime.signal).catch((err: unknown) => {
        if (!(err instanceof Interrupted)) this.deps.log(`BUG: detect_machine on ${leg.callId} failed: ${String(err)}`);
      });
      return NEXT;
    }
    await detection(signal);
    return NEXT;
  }
}

/** SWML documents arrive as JSON or YAML (YAML 1.2 reads JSON too). */
function parseDocument(text: string): unknown {
  try {
    return text.trim() === '' ? undefined : (parseYaml(text) as unknown);
  } catch {
    return undefined;
  }
}

/** A `calling.call.collect` callback's `result`. */
export function collectResultParams(result: CollectResult): Json {
  if (result.type !== 'digit') return { type: result.type };
  return {
    type: 'digit',
    params: { digits: result.digits, ...(result.terminator ? { terminator: result.terminator } : {}) },
  };
}

/** The fields of a finished `calling.call.record` callback. */
export function recordingParams(recording: FinishedRecording): Json {
  return {
    state: recording.state,
    url: recording.url,
    duration: Math.round(recording.durationMs / 100) / 10,
    size: recording.sizeBytes,
    recording_id: recording.recordingId,
    start_time: recording.startedAt.getTime() / 1000,
    end_time: recording.endedAt.getTime() / 1000,
  };
}
