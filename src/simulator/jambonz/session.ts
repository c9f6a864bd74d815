import type { CallerScript } from '../scripts';
import { AudioStream, type ListenStatus } from './audio-stream';
import { snakeCaseKeys, type CallHost, type SimCall, type VerbLoop } from './call';
import { SIM_MS as SHARED_SIM_MS, type Timers } from '../clock';
import { HookFailure, toHookTarget, type HookAnswer, type HookTarget } from './hooks';
import type { OutboundLeg, OutboundLegEvents } from './outbound-leg';
import type { QueueLink, Queues } from './queues';
import type { Conferences } from '../conferences';
import { VerbSpecError, type NormalisedVerb } from './verb-spec';

/**
 * One call's session on the feature server (jambonz's CallSession): it runs the verbs of the current document one
 * after another; a verb's actionHook answer, a `redirect` or a Live Call Control `call_hook` replaces the
 * remaining verbs (and kills the running one); when the verbs run out, jambonz hangs up. Each verb behaves
 * as its feature-server task does, including which hook failures end the call and which do not.
 */

/** Simulated durations, milliseconds. */
const SIM_MS = {
  ...SHARED_SIM_MS,
  /** Silence enqueue plays before each waitHook request. */
  waitHookSilence: 500,
  /** dequeue looks for a member after 1 s, then every 5 s. */
  dequeueFirstLook: 1_000,
  dequeuePoll: 5_000,
  /** sip:refer: NOTIFY progress from the transfer target. */
  referRinging: 300,
} as const;

/** gather's default wait for input once its prompt finished, seconds. */
const GATHER_DEFAULT_TIMEOUT_SECONDS = 15;
const DIAL_DEFAULT_TIMEOUT_SECONDS = 60;
const DTMF_DEFAULT_DURATION_MS = 500;

type Verb = NormalisedVerb;
type Data = Record<string, unknown>;
type KillReason = 'replaced' | 'hangup';

/** What a task needs before it runs (TaskPreconditions); a verb whose precondition fails is skipped. */
const PRECONDITIONS: Record<string, 'endpoint' | 'stable-call' | 'unanswered-call'> = {
  answer: 'endpoint',
  say: 'endpoint',
  play: 'endpoint',
  gather: 'endpoint',
  listen: 'endpoint',
  dtmf: 'endpoint',
  enqueue: 'endpoint',
  dequeue: 'endpoint',
  dial: 'endpoint',
  conference: 'endpoint',
  hangup: 'stable-call',
  'sip:refer': 'stable-call',
  'sip:decline': 'unanswered-call',
};

/** jambonz's BADPRECONDITIONS: the verb is skipped and the session goes on. */
class PreconditionsNotMet extends Error {}

/** One run of a verb, which something else may kill (a replaced application, a hang-up). */
export class VerbRun {
  reason?: KillReason;
  private readonly listeners = new Set<(reason: KillReason) => void>();

  get killed(): boolean {
    return this.reason !== undefined;
  }

  /** Calls `listener` once when killed (at once if already killed); returns its removal. */
  onKill(listener: (reason: KillReason) => void): () => void {
    if (this.reason !== undefined) {
      listener(this.reason);
      return () => undefined;
    }
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  kill(reason: KillReason): void {
    if (this.reason !== undefined) return;
    this.reason = reason;
    for (const listener of [...this.listeners]) listener(reason);
    this.listeners.clear();
  }

  whenKilled(): Promise<KillReason> {
    return new Promise((resolve) => this.onKill(resolve));
  }
}

/** The answered `dial` leg while a dial runs, for Live Call Control (`child_call_hook`, whisper to the child). */
interface ActiveDial {
  winner?: OutboundLeg;
  /** Hands the bridged leg over to a session of its own; the dial no longer hangs it up. */
  detachWinner(): OutboundLeg | undefined;
}

/** What a session asks of the engine beyond a leg's needs: queues, documents, and the legs `dial` places. */
export interface SessionHost extends CallHost {
  readonly queues: Queues;
  readonly conferences: Conferences;
  readVerbs(answer: HookAnswer): NormalisedVerb[];
  runRestDial(session: FeatureServerSession, data: Data, run: VerbRun): Promise<void>;
  dialLeg(parent: FeatureServerSession, target: Data, from: string, events: OutboundLegEvents): OutboundLeg;
  adoptDialedLeg(parent: FeatureServerSession, leg: OutboundLeg | undefined, verbs: NormalisedVerb[]): void;
}

export class FeatureServerSession implements VerbLoop {
  /** The session's verb loop has ended: jambonz has dropped it, so Live Call Control answers 422. */
  loopDone = false;
  finished: Promise<void> = Promise.resolve();
  private tasks: Verb[] = [];
  private current?: { verb: Verb; run: VerbRun };
  /** The call is gone (hung up, declined, cancelled): nothing runs any more. */
  private gone = false;
  private readonly timers: Timers;
  private gathersStarted = 0;
  private voicemailStarted = false;
  private backgroundStream?: AudioStream;
  /** Who hears the caller's key presses now (a gather, a listen with finishOnKey). */
  private digitListener?: (digit: string) => void;
  private activeStream?: AudioStream;
  private activeDial?: ActiveDial;

  constructor(
    readonly call: SimCall,
    private readonly engine: SessionHost,
    /** The application's base URL (scheme and host of its call_hook): relative hook URLs resolve against it. */
    private baseUrl: string,
  ) {
    this.timers = engine.newTimers();
    call.session = this;
  }

  get applicationBaseUrl(): string {
    return this.baseUrl;
  }

  start(verbs: Verb[]): void {
    this.tasks = verbs;
    this.finished = this.exec();
  }

  // --- the verb loop -------------------------------------------------------------------------------------

  private async exec(): Promise<void> {
    while (this.tasks.length > 0 && !this.gone) {
      const verb = this.tasks.shift() as Verb;
      const run = new VerbRun();
      this.call.verbs.push(verb.name);
      try {
        this.checkPreconditions(verb);
        this.current = { verb, run };
        await this.execute(verb, run);
      } catch (err) {
        if (!(err instanceof PreconditionsNotMet)) {
          this.engine.log(`${this.call.callSid}: ${verb.name} ended the session: ${message(err)}`);
          this.call.milestones.push(`${verb.name} failed (${message(err)})`);
          this.clearCurrent(run);
          break;
        }
        this.engine.log(`${this.call.callSid}: ${verb.name} skipped: ${err.message}`);
      }
      this.clearCurrent(run);
    }
    this.tasksDone();
  }

  private clearCurrent(run: VerbRun): void {
    if (this.current?.run === run) this.current = undefined;
  }

  /** The verbs ran out (or one failed): jambonz hangs up, or rejects an unanswered inbound call with a silent 603. */
  private tasksDone(): void {
    this.loopDone = true;
    this.stopBackgroundStream();
    this.digitListener = undefined;
    if (!this.call.ended) {
      if (this.call.answered) this.hangupByJambonz('no verbs left, jambonz hung up');
      else this.endSilently('no verbs left before answer: rejected with 603 (jambonz sends no status for it)');
    }
    this.timers.clear();
  }

  /** Replaces the verbs still to run and kills the running one; ignored once the call is gone. */
  replaceApplication(verbs: Verb[]): void {
    if (this.gone || this.loopDone) {
      this.engine.log(`${this.call.callSid}: new verbs ignored, the session is over`);
      return;
    }
    this.tasks = verbs;
    const current = this.current;
    this.current = undefined;
    current?.run.kill('replaced');
  }

  private checkPreconditions(verb: Verb): void {
    switch (PRECONDITIONS[verb.name]) {
      case 'endpoint':
        if (!this.call.answered && !wantsEarlyMedia(verb)) this.answer();
        return;
      case 'stable-call':
        if (!this.call.answered) throw new PreconditionsNotMet('call was not answered');
        return;
      case 'unanswered-call':
        if (this.call.direction !== 'inbound')
          throw new Error('invalid precondition unanswered_call for outbound call');
        if (this.call.answered) throw new PreconditionsNotMet('final sip status already sent');
        return;
      case undefined:
        return;
    }
  }

  private async execute(verb: Verb, run: VerbRun): Promise<void> {
    const data = verb.data;
    switch (verb.name) {
      case 'answer':
        return; // the endpoint precondition answered
      case 'say':
        return this.say(data, run);
      case 'play':
        return this.play(verb, run);
      case 'pause':
        await this.sleep(numberOf(data.length) * 1000, run);
        return;
      case 'gather':
        return this.gather(verb, run);
      case 'dial':
        return this.dial(verb, run);
      case 'listen':
        return this.listen(verb, run);
      case 'redirect':
        return this.redirect(verb);
      case 'hangup':
        return this.hangupByJambonz('hung up by the app');
      case 'sip:decline':
        return this.decline(numberOf(data.status), typeof data.reason === 'string' ? data.reason : undefined);
      case 'sip:refer':
        return this.refer(verb, run);
      case 'dtmf':
        return this.sendDtmf(data, run);
      case 'tag':
        this.call.customerData = data.data as Data;
        return;
      case 'config':
        return this.configure(data);
      case 'enqueue':
        return this.enqueue(verb, run);
      case 'dequeue':
        return this.dequeue(verb, run);
      case 'leave':
        // Only an enqueue waitHook can use `leave`; anywhere else the task just waits to be killed.
        await run.whenKilled();
        return;
      case 'rest:dial':
        return this.restDial(data, run);
      // conferences:
      case 'conference':
        return this.conference(verb, run);
      default:
        this.engine.log(`${this.call.callSid}: ${verb.name} is not simulated; skipped`);
        this.call.milestones.push(`${verb.name} not simulated`);
    }
  }

  // --- call state ------------------------------------------------------------------------------------------

  /** 200 OK to the caller (jambonz answers when a verb needs media). */
  private answer(): void {
    if (this.call.answered || this.call.ended) return;
    this.call.answeredAt = Date.now();
    this.engine.changeStatus(this.call, 'in-progress', 200, 'OK');
    this.call.milestones.push('answered');
    const hangupAfterMs = this.caller()?.hangupAfterMs;
    if (hangupAfterMs !== undefined) this.timers.after(hangupAfterMs, () => this.farEndHangsUp('caller hung up'));
  }

  hangupAfter(simMs: number, note: string): void {
    this.timers.after(simMs, () => this.hangupByJambonz(note));
  }

  /**
   * The far end hangs up (BYE, or CANCEL before answer). Live Call Control `completed` takes this path too,
   * so jambonz reports it with `call_termination_by: caller`.
   */
  farEndHangsUp(note: string): void {
    if (this.call.ended) return;
    if (this.call.answered) {
      this.engine.endAnswered(this.call, 'caller', note);
    } else {
      this.call.callTerminationBy = 'caller';
      this.engine.changeStatus(this.call, 'no-answer', 487, 'Request Terminated');
      this.call.markEnded(note);
    }
    this.callReleased();
  }

  /** jambonz sends BYE (`hangup` verb, no verbs left, time limit). */
  private hangupByJambonz(note: string): void {
    if (!this.call.ended && this.call.answered) this.engine.endAnswered(this.call, 'jambonz', note);
    this.callReleased();
  }

  /** The call ends with no status hook (a 603 when the verbs ran out before answer, a 503 from Live Call Control). */
  private endSilently(note: string): void {
    this.call.markEnded(note);
    this.callReleased();
  }

  private decline(status: number, reason: string | undefined): void {
    this.engine.changeStatus(this.call, 'failed', status, reason ?? '');
    this.call.markEnded(`declined ${status}${reason ? ` ${reason}` : ''}`);
    this.callReleased();
  }

  private callReleased(): void {
    this.gone = true;
    const current = this.current;
    this.current = undefined;
    current?.run.kill('hangup');
    this.stopBackgroundStream();
    this.digitListener = undefined;
  }

  private caller(): CallerScript | undefined {
    return this.call.farEnd.kind === 'caller' ? this.call.farEnd.script : undefined;
  }

  // --- hooks -----------------------------------------------------------------------------------------------

  private hookTarget(spec: unknown): HookTarget | undefined {
    return toHookTarget(spec, this.baseUrl);
  }

  /** Task.performAction: the actionHook gets the call info plus the verb's results; non-empty verbs it returns replace the application. */
  private async performAction(verb: Verb, results: Data, expectVerbs = true): Promise<void> {
    const target = this.hookTarget(verb.data.actionHook);
    if (target === undefined) return;
    const payload = {
      ...this.call.callInfo(this.engine.account),
      ...results,
      ...(typeof verb.data.id === 'string' && { verbId: verb.data.id }),
    };
    const answer = await this.engine.hooks.request(
      'verb:hook',
      target,
      snakeCaseKeys(payload) as Data,
      this.call.callSid,
    );
    if (!expectVerbs || !Array.isArray(answer.body)) return;
    const verbs = this.engine.readVerbs(answer);
    if (verbs.length > 0) this.replaceApplication(verbs);
  }

  /** Most tasks catch a failed actionHook and let the session go on with the verbs that remain. */
  private async performActionCatching(verb: Verb, results: Data, expectVerbs = true): Promise<void> {
    try {
      await this.performAction(verb, results, expectVerbs);
    } catch (err) {
      this.noteHookFailure(verb.name, err);
    }
  }

  private noteHookFailure(what: string, err: unknown): void {
    const expected = err instanceof HookFailure || err instanceof VerbSpecError;
    this.engine.log(`${expected ? '' : 'BUG: '}${this.call.callSid}: ${what} hook: ${message(err)}`);
    this.call.milestones.push(`${what} hook failed`);
  }

  // --- media -----------------------------------------------------------------------------------------------

  private async say(data: Data, run: VerbRun): Promise<void> {
    const text = pickText(data.text);
    const loops = loopCount(data.loop);
    for (let played = 0; played < loops && !run.killed; played++) {
      this.call.heard.push(text);
      if (!(await this.sleep(speechMs(text), run))) return;
    }
  }

  /** Plays the URLs `loop` times (or until `timeoutSecs`); returns the simulated milliseconds played. */
  private async playAudio(data: Data, run: VerbRun): Promise<number> {
    const urls = (Array.isArray(data.url) ? data.url : [data.url]).map(String);
    const loops = loopCount(data.loop);
    const limitMs = numberOf(data.timeoutSecs) > 0 ? numberOf(data.timeoutSecs) * 1000 : Infinity;
    const startedAt = Date.now();
    let scheduledMs = 0;
    for (let played = 0; played < loops; played++) {
      for (const url of urls) {
        if (run.killed || scheduledMs >= limitMs) return this.engine.clock.simMsSince(startedAt);
        this.call.heard.push(url);
        const chunkMs = Math.min(SIM_MS.audioFile, limitMs - scheduledMs);
        scheduledMs += chunkMs;
        if (!(await this.sleep(chunkMs, run))) return this.engine.clock.simMsSince(startedAt);
      }
    }
    return this.engine.clock.simMsSince(startedAt);
  }

  private async play(verb: Verb, run: VerbRun): Promise<void> {
    const playedMs = await this.playAudio(verb.data, run);
    // A hang-up takes the media endpoint with it: the playback errors and no actionHook follows.
    if (this.gone) return;
    await this.performActionCatching(verb, {
      reason: 'playCompleted',
      playbackSeconds: Math.floor(playedMs / 1000),
      playbackMilliseconds: Math.round(playedMs),
    });
  }

  private async sendDtmf(data: Data, run: VerbRun): Promise<void> {
    const digits = String(data.dtmf);
    const durationMs = numberOf(data.duration) || DTMF_DEFAULT_DURATION_MS;
    this.call.dtmfSent += digits;
    await this.sleep(digits.length * (durationMs + 250) + 750, run);
  }

  // --- gather ----------------------------------------------------------------------------------------------

  /**
   * Collects digits as jambonz's gather does: the timeout starts once the prompt ends; numDigits/maxDigits
   * or finishOnKey end it at once; after minDigits an inter-digit timer runs; at timeout, digits count only
   * if there are at least minDigits (an unset minDigits never counts). A killed gather sends no actionHook,
   * and a failed actionHook does not end the call (the remaining verbs run).
   */
  private gather(verb: Verb, run: VerbRun): Promise<void> {
    const data = verb.data;
    const input = Array.isArray(data.input) ? data.input : ['digits'];
    const takesDigits = input.includes('digits');
    const dtmfBargein = data.dtmfBargein !== false && takesDigits;
    const timeoutMs = data.timeout === 0 ? 0 : (optionalNumber(data.timeout) ?? GATHER_DEFAULT_TIMEOUT_SECONDS) * 1000;
    const minDigits = optionalNumber(data.minDigits);
    const interDigitTimeoutMs = (optionalNumber(data.interDigitTimeout) ?? 0) * 1000;
    const finishOnKey = typeof data.finishOnKey === 'string' ? data.finishOnKey : undefined;
    const enoughDigits = (digits: string) => minDigits !== undefined && digits.length >= minDigits;
    const index = this.gathersStarted++;
    const promptRun = new VerbRun();

    return new Promise<void>((done) => {
      let digits = '';
      let resolved = false;
      let timeoutTimer: NodeJS.Timeout | undefined;
      let interDigitTimer: NodeJS.Timeout | undefined;

      const resolve = (reason: 'dtmf' | 'timeout' | 'killed') => {
        if (resolved) return;
        resolved = true;
        this.timers.cancel(timeoutTimer);
        this.timers.cancel(interDigitTimer);
        promptRun.kill('replaced');
        if (this.digitListener === onDigit) this.digitListener = undefined;
        if (reason === 'killed' || this.gone) return done();
        this.call.milestones.push(reason === 'dtmf' ? `pressed ${digits || 'nothing'}` : 'stayed silent');
        const results = reason === 'dtmf' ? { reason: 'dtmfDetected', digits } : { reason: 'timeout' };
        void this.performActionCatching(verb, results).finally(done);
      };
      const onDigit = (digit: string) => {
        this.timers.cancel(interDigitTimer);
        if (dtmfBargein) promptRun.kill('replaced');
        if (!takesDigits) return;
        if (digit === finishOnKey) return resolve('dtmf');
        digits += digit;
        if (digits.length === optionalNumber(data.numDigits) || digits.length === optionalNumber(data.maxDigits)) {
          return resolve('dtmf');
        }
        if (interDigitTimeoutMs > 0 && enoughDigits(digits)) {
          interDigitTimer = this.timers.after(interDigitTimeoutMs, () => resolve('dtmf'));
        }
      };
      const startListening = () => {
        if (resolved) return;
        if (timeoutMs > 0) {
          timeoutTimer = this.timers.after(timeoutMs, () => {
            // Once an inter-digit timer was started, it decides.
            if (interDigitTimer === undefined) resolve(enoughDigits(digits) ? 'dtmf' : 'timeout');
          });
        }
        this.callerPresses(index);
      };

      run.onKill(() => resolve('killed'));
      this.digitListener = onDigit;
      const prompt = isData(data.say) ? { say: data.say } : isData(data.play) ? { play: data.play } : undefined;
      if (prompt === undefined) return startListening();
      void this.playPrompt(prompt, promptRun, index).then(startListening);
    });
  }

  /** A gather's nested say or play; the caller with `hangupDuringPrompt` for this gather hangs up halfway through. */
  private async playPrompt(prompt: { say?: Data; play?: Data }, run: VerbRun, gatherIndex: number): Promise<void> {
    if (this.caller()?.hangupDuringPrompt === gatherIndex) {
      const halfMs = (prompt.say ? speechMs(pickText(prompt.say.text)) : SIM_MS.audioFile) / 2;
      this.timers.after(halfMs, () => {
        if (!run.killed) this.farEndHangsUp('caller hung up during the menu');
      });
    }
    if (prompt.say) await this.say(prompt.say, run);
    else if (prompt.play) await this.playAudio(prompt.play, run);
  }

  /** The caller presses the digits scripted for this gather after thinking a moment; exhausted or null = silent. */
  private callerPresses(gatherIndex: number): void {
    const press = this.caller()?.presses?.[gatherIndex];
    if (press) this.timers.after(SIM_MS.callerThinks, () => this.pressDigits(press));
  }

  private pressDigits(remaining: string): void {
    const listener = this.digitListener;
    const digit = remaining[0];
    if (this.call.ended || listener === undefined || digit === undefined) return; // the caller stops once nothing listens
    this.call.digitsPressed += digit;
    listener(digit);
    if (remaining.length > 1) this.timers.after(SIM_MS.betweenDigits, () => this.pressDigits(remaining.slice(1)));
  }

  // --- listen (our recordings) -----------------------------------------------------------------------------

  /**
   * Streams audio to the verb's WebSocket until maxLength, finishOnKey, a hang-up or a kill; then the
   * actionHook gets `dial_call_duration` (seconds streamed). A socket that refuses gives an actionHook
   * without it. A caller with `voicemail` talks, then hangs up. The actionHook is sent even after a
   * hang-up; a failed one does not end the call.
   */
  private async listen(verb: Verb, run: VerbRun): Promise<void> {
    const data = verb.data;
    if (data.playBeep === true) {
      this.call.heard.push('beep');
      if (!(await this.sleep(SIM_MS.beep, run))) return this.performActionCatching(verb, {});
    }
    const stream = this.openStream(data, false);
    const connected = await stream.opened;
    if (!connected || run.killed) {
      stream.close();
      return this.performActionCatching(verb, {});
    }
    const startedAt = Date.now();
    this.activeStream = stream;
    const results: Data = {};
    const voicemail = this.caller()?.voicemail;
    if (voicemail && !this.voicemailStarted) {
      this.voicemailStarted = true;
      this.timers.after(voicemail.talkMs, () => this.farEndHangsUp('left a voicemail, caller hung up'));
    }
    const finishOnKey = typeof data.finishOnKey === 'string' ? data.finishOnKey : undefined;
    const ended = new Promise<void>((end) => {
      const maxLength = optionalNumber(data.maxLength);
      if (maxLength !== undefined) this.timers.after(maxLength * 1000, end);
      void stream.closedByPeer.then(end);
      run.onKill(() => end());
      if (finishOnKey !== undefined) {
        this.digitListener = (digit) => {
          if (digit !== finishOnKey) return;
          results.digits = digit;
          end();
        };
      }
    });
    await ended;
    this.digitListener = undefined;
    this.activeStream = undefined;
    stream.close();
    const seconds = this.engine.clock.simSecondsSince(startedAt);
    stream.record.seconds = seconds;
    await this.performActionCatching(verb, { ...results, dialCallDuration: seconds });
  }

  private openStream(data: Data, background: boolean): AudioStream {
    const record = { url: String(data.url), connected: false, audioBytes: 0, background };
    this.call.streams.push(record);
    const mixType = typeof data.mixType === 'string' ? data.mixType : 'mono';
    const sampleRate = optionalNumber(data.sampleRate) ?? 8000;
    return new AudioStream({
      url: record.url,
      metadata: {
        sampleRate,
        mixType,
        ...this.call.callInfo(this.engine.account),
        ...(isData(data.metadata) ? data.metadata : {}),
      },
      sampleRate,
      channels: mixType === 'stereo' ? 2 : 1,
      clock: this.engine.clock,
      record,
      log: this.engine.log,
    });
  }

  /** `config`: session settings; the simulator acts on background amd and the audio stream and ignores the rest. */
  private configure(data: Data): void {
    // Background answering-machine detection (issue 10 item 4): verdicts go to amd.actionHook.
    if (isData(data.amd)) this.detectMachine(this.call, data.amd);
    const listen = isData(data.listen) ? data.listen : isData(data.stream) ? data.stream : undefined;
    if (listen === undefined) return;
    if (listen.enable === true && typeof listen.url === 'string') {
      if (this.backgroundStream) return; // already streaming: jambonz ignores a second start
      const stream = this.openStream(listen, true);
      this.backgroundStream = stream;
      void stream.opened.then((connected) => {
        if (!connected) this.engine.log(`${this.call.callSid}: background stream to ${String(listen.url)} failed`);
      });
    } else if (listen.enable === false) {
      this.stopBackgroundStream();
    }
  }

  private stopBackgroundStream(): void {
    this.backgroundStream?.close();
    this.backgroundStream = undefined;
  }

  // --- redirect, refer -------------------------------------------------------------------------------------

  /** Fetches new verbs from the actionHook; its statusHook replaces the call's. A failed fetch ends the session. */
  private async redirect(verb: Verb): Promise<void> {
    // An absolute actionHook on another host becomes the application's new base URL.
    const actionHook = this.hookTarget(verb.data.actionHook);
    if (actionHook) this.baseUrl = new URL(actionHook.url).origin;
    const statusHook = this.hookTarget(verb.data.statusHook);
    if (statusHook) this.call.statusHook = statusHook;
    await this.performAction(verb, {});
  }

  /**
   * Blind transfer: the REFER is accepted (202), the target's progress goes to eventHook, the final status
   * to actionHook; after a 2xx the far end hangs up this call.
   */
  private async refer(verb: Verb, run: VerbRun): Promise<void> {
    const referTo = String(verb.data.referTo);
    const agent = this.engine.agentFor(referTo);
    const finalStatus = agent.behaviour === 'busy' ? 486 : agent.behaviour === 'no-answer' ? 487 : 200;
    const eventHook = this.hookTarget(verb.data.eventHook);
    const notify = async (status: number) => {
      if (eventHook === undefined) return;
      try {
        await this.engine.hooks.request(
          'verb:hook',
          eventHook,
          { event: 'transfer-status', call_status: String(status) },
          this.call.callSid,
        );
      } catch (err) {
        this.noteHookFailure('sip:refer eventHook', err);
      }
    };
    this.call.milestones.push(`referred to ${referTo}`);
    await notify(100);
    if (!(await this.sleep(SIM_MS.referRinging, run))) return;
    await notify(180);
    const answerMs = agent.behaviour === 'answer' ? (agent.answerAfterMs ?? 300) : SIM_MS.referRinging;
    if (!(await this.sleep(answerMs, run))) return;
    await notify(finalStatus);
    await this.performActionCatching(verb, { referStatus: 202, finalReferredCallStatus: String(finalStatus) });
    if (finalStatus === 200) this.farEndHangsUp(`transferred to ${referTo}`);
  }

  // --- dial ------------------------------------------------------------------------------------------------

  /**
   * Rings every target; the first to answer is bridged and the others are cancelled. The dial ends when
   * all fail, the ring timeout passes, either side hangs up, timeLimit passes or it is killed; then its
   * actionHook reports the dialed leg's last status (its answer is ignored when the dial was replaced).
   */
  private async dial(verb: Verb, run: VerbRun): Promise<void> {
    const data = verb.data;
    const targets = Array.isArray(data.target) ? (data.target as Data[]) : [];
    const results: Data = {};
    const pending = new Set<OutboundLeg>();
    const answerOnBridge = data.answerOnBridge === true;
    let winner: OutboundLeg | undefined;
    let detached = false;
    if (typeof data.dialMusic === 'string') this.call.heard.push(data.dialMusic);
    const confirmHook = this.hookTarget(data.confirmHook);

    await new Promise<void>((done) => {
      let finished = false;
      let timeLimitTimer: NodeJS.Timeout | undefined;
      const ringTimer = this.timers.after((optionalNumber(data.timeout) ?? DIAL_DEFAULT_TIMEOUT_SECONDS) * 1000, () =>
        end(),
      );
      const end = () => {
        if (finished) return;
        finished = true;
        this.timers.cancel(ringTimer);
        this.timers.cancel(timeLimitTimer);
        for (const leg of pending) leg.cancel();
        if (winner && !detached) winner.hangUp('hung up by jambonz when the dial ended');
        this.unbridge(winner?.call);
        this.activeDial = undefined;
        done();
      };
      const track = (leg: OutboundLeg) => {
        // The last status of the dialed leg, frozen once it answered or was cancelled.
        if (results.dialCallStatus !== 'completed' && results.dialCallStatus !== 'no-answer') {
          Object.assign(results, {
            dialCallStatus: leg.call.status,
            dialSipStatus: leg.call.sipStatus,
            dialCallSid: leg.call.callSid,
            dialSbcCallid: leg.call.sbcCallId,
          });
        }
      };
      this.activeDial = {
        get winner() {
          return winner;
        },
        detachWinner: () => {
          detached = winner !== undefined;
          return winner;
        },
      };
      const connect = (leg: OutboundLeg) => {
        if (answerOnBridge) this.answer();
        Object.assign(results, { dialCallStatus: 'completed', dialSipStatus: 200 });
        this.bridge(leg.call);
        const timeLimit = optionalNumber(data.timeLimit);
        if (timeLimit !== undefined) timeLimitTimer = this.timers.after(timeLimit * 1000, end);
        if (isData(data.amd)) this.detectMachine(leg.call, data.amd);
      };
      run.onKill(end);
      for (const target of targets) {
        const leg = this.engine.dialLeg(
          this,
          target,
          typeof data.callerId === 'string' ? data.callerId : this.call.from,
          {
            answered: () => {
              track(leg);
              if (finished || winner) return leg.hangUp('answered after another target');
              winner = leg;
              pending.delete(leg);
              this.timers.cancel(ringTimer);
              for (const other of pending) other.cancel();
              pending.clear();
              if (confirmHook === undefined) return connect(leg);
              void this.confirm(leg.call, confirmHook).then(() => {
                if (!finished) connect(leg);
              });
            },
            failed: () => {
              track(leg);
              pending.delete(leg);
              if (pending.size === 0 && winner === undefined) end();
            },
            farEndHungUp: () => {
              this.engine.endAnswered(leg.call, 'caller', `${leg.call.to} hung up`);
              end();
            },
          },
        );
        pending.add(leg);
        leg.start();
      }
      if (targets.length === 0) end();
    });

    this.call.milestones.push(`dial ${typeof results.dialCallStatus === 'string' ? results.dialCallStatus : 'failed'}`);
    await this.performActionCatching(verb, results, run.reason !== 'replaced');
  }

  /**
   * A dial's confirmHook: fetched with the answered callee's call info; its verbs run on the callee before the
   * bridge, so what they say or play is what the callee hears (only say and play are simulated).
   */
  private async confirm(callee: SimCall, confirmHook: HookTarget): Promise<void> {
    try {
      const payload = snakeCaseKeys(callee.callInfo(this.engine.account)) as Data;
      const answer = await this.engine.hooks.request('verb:hook', confirmHook, payload, callee.callSid);
      for (const verb of this.engine.readVerbs(answer)) {
        if (verb.name === 'say') {
          const text = pickText(verb.data.text);
          callee.heard.push(text);
          await this.sleep(speechMs(text));
        } else if (verb.name === 'play') {
          callee.heard.push(String(verb.data.url));
          await this.sleep(SIM_MS.audioFile);
        } else this.engine.log(`${callee.callSid}: confirmHook verb ${verb.name} is not simulated; skipped`);
      }
      this.engine.log(`${callee.callSid}: confirmed; heard ${JSON.stringify(callee.heard)}`);
    } catch (err) {
      this.noteHookFailure('dial confirmHook', err);
    }
  }

  private bridge(other: SimCall): void {
    this.call.bridgedWith = other;
    other.bridgedWith = this.call;
    other.hostSession = this;
    this.call.milestones.push(`bridged to ${other.party}`);
    other.milestones.push(`bridged to ${this.call.party}`);
  }

  private unbridge(other: SimCall | undefined): void {
    if (other === undefined || this.call.bridgedWith !== other) return;
    this.call.lastBridgedWith = other;
    this.call.bridgedWith = undefined;
    if (other.bridgedWith === this.call) {
      other.lastBridgedWith = this.call;
      other.bridgedWith = undefined;
    }
    other.hostSession = undefined;
  }

  /**
   * Answering-machine detection on an answered leg: a verdict, then (for a machine) the beep that ends its
   * greeting, each POSTed to amd.actionHook with the session's call info; verbs returned replace the application.
   */
  detectMachine(answeredLeg: SimCall, amd: Data): void {
    const target = this.hookTarget(amd.actionHook);
    if (target === undefined) return;
    const agent = answeredLeg.farEnd.kind === 'agent' ? answeredLeg.farEnd.script : undefined;
    const machine = agent?.answeredBy === 'machine';
    const report = async (event: Data) => {
      if (this.gone || answeredLeg.ended) return;
      const payload = snakeCaseKeys({ ...this.call.callInfo(this.engine.account), ...event }) as Data;
      try {
        const answer = await this.engine.hooks.request('verb:hook', target, payload, this.call.callSid);
        if (!Array.isArray(answer.body)) return;
        const verbs = this.engine.readVerbs(answer);
        if (verbs.length > 0) this.replaceApplication(verbs);
      } catch (err) {
        this.noteHookFailure('amd', err);
      }
    };
    this.timers.after(SIM_MS.amdVerdict, () => {
      void report(
        machine
          ? { type: 'amd_machine_detected', reason: 'long greeting' }
          : { type: 'amd_human_detected', reason: 'short greeting' },
      );
      if (machine) this.timers.after(SIM_MS.amdGreetingEnded, () => void report({ type: 'amd_tone_detected' }));
    });
  }

  /** The rest:dial task of a createCall session: waits for the callee, then runs the application (session:new). */
  private restDial(data: Data, run: VerbRun): Promise<void> {
    return this.engine.runRestDial(this, data, run);
  }

  // --- conferences -----------------------------------------------------------------------------------------

  /**
   * Starts or joins the named conference and stays in it until the conference ends under the member or the
   * verb is killed (a hang-up, a Live Call Control redirect); then the actionHook reports the member left
   * (jambonz sends it no conference fields of its own, only the call's).
   */
  private async conference(verb: Verb, run: VerbRun): Promise<void> {
    const name = String(verb.data.name);
    // How the member takes part, as a supervisor test needs to see it: tagged, muted, or heard by a tag only.
    const how = [
      typeof verb.data.memberTag === 'string' && `tagged ${verb.data.memberTag}`,
      verb.data.joinMuted === true && 'muted',
      typeof verb.data.speakOnlyTo === 'string' && `heard only by ${verb.data.speakOnlyTo}`,
    ].filter(Boolean);
    this.call.milestones.push(`joined conference ${name}${how.length > 0 ? ` (${how.join(', ')})` : ''}`);
    await new Promise<void>((done) => {
      const leave = this.engine.conferences.join(name, {
        callSid: this.call.callSid,
        endsConference: verb.data.endConferenceOnExit === true,
        dropped: () => done(),
      });
      run.onKill(() => {
        leave();
        done();
      });
    });
    this.call.milestones.push(`left conference ${name}`);
    await this.performActionCatching(verb, {});
  }

  // --- queues ----------------------------------------------------------------------------------------------

  /**
   * Waits in the named queue, polling waitHook (play/say/pause/leave/tag answers; an empty answer stops the
   * polling) until a dequeue bridges the caller, `leave`, a kill or a hang-up; the actionHook then reports
   * `queue_result` bridged | leave | hangup (also when killed) | error.
   */
  private async enqueue(verb: Verb, run: VerbRun): Promise<void> {
    const name = String(verb.data.name);
    const queueSid = `queue:${this.engine.account.accountSid}:${name}`;
    const joinedAt = Date.now();
    // Set from callbacks, so typed wide: jambonz starts every enqueue at `hangup`.
    let result = 'hangup' as 'hangup' | 'bridged' | 'leave';
    const waitRun = new VerbRun();
    let link: QueueLink | undefined;
    this.call.queue = name;
    this.call.milestones.push(`queued in ${name}`);

    await new Promise<void>((done) => {
      const member = this.engine.queues.join(queueSid, this.call, (bridge) => {
        link = bridge;
        result = 'bridged';
        this.call.queue = undefined;
        waitRun.kill('replaced');
        void bridge.over.then(() => done());
      });
      run.onKill(() => {
        waitRun.kill('hangup');
        if (link) link.end();
        else this.engine.queues.leave(queueSid, member);
        done();
      });
      const waitHook = this.hookTarget(verb.data.waitHook);
      if (waitHook === undefined) return;
      void this.pollWaitHook(waitHook, queueSid, joinedAt, waitRun).then((left) => {
        if (!left || link !== undefined) return;
        result = 'leave';
        this.engine.queues.leave(queueSid, member);
        done();
      });
    });

    this.call.queue = undefined;
    if (result === 'leave') this.call.milestones.push(`left queue ${name}`);
    await this.performActionCatching(verb, {
      queueSid,
      queueTime: this.engine.clock.simSecondsSince(joinedAt),
      queueResult: result,
    });
  }

  /** The waitHook loop; resolves true when an answer said `leave`. */
  private async pollWaitHook(waitHook: HookTarget, queueSid: string, joinedAt: number, run: VerbRun): Promise<boolean> {
    while (!run.killed) {
      if (!(await this.sleep(SIM_MS.waitHookSilence, run))) return false;
      const payload = {
        queueSid,
        queueTime: this.engine.clock.simSecondsSince(joinedAt),
        queueSize: this.engine.queues.size(queueSid),
        queuePosition: this.engine.queues.position(queueSid, this.call),
        callSid: this.call.callSid,
        callId: this.call.callId,
        ...(this.call.customerData !== undefined && { customerData: this.call.customerData }),
      };
      let verbs: Verb[];
      try {
        const answer = await this.engine.hooks.request(
          'verb:hook',
          waitHook,
          snakeCaseKeys(payload) as Data,
          this.call.callSid,
        );
        verbs = this.engine.readVerbs(answer);
        const refused = verbs.find((verb) => !['play', 'say', 'pause', 'leave', 'tag'].includes(verb.name));
        if (refused) throw new VerbSpecError(`unsupported verb in enqueue waitHook: ${refused.name}`);
      } catch (err) {
        if (!run.killed) this.noteHookFailure('enqueue waitHook', err);
        return false;
      }
      if (verbs.length === 0) return false; // an empty answer stops the polling; the caller waits in silence
      for (const verb of verbs) {
        if (run.killed) return false;
        if (verb.name === 'leave') return true;
        if (verb.name === 'say') await this.say(verb.data, run);
        else if (verb.name === 'play') await this.playAudio(verb.data, run);
        else if (verb.name === 'pause') await this.sleep(numberOf(verb.data.length) * 1000, run);
        else this.call.customerData = verb.data.data as Data;
      }
    }
    return false;
  }

  /**
   * Takes a caller from the queue (the one named by callSid, else the first), looking after 1 s and then
   * every 5 s until `timeout`, and bridges it until one side hangs up. The actionHook is sent without
   * waiting for its answer (as jambonz does): with no verbs left, the session ends before the answer arrives.
   */
  private async dequeue(verb: Verb, run: VerbRun): Promise<void> {
    const queueSid = `queue:${this.engine.account.accountSid}:${String(verb.data.name)}`;
    const wanted = typeof verb.data.callSid === 'string' ? verb.data.callSid : undefined;
    const timeoutSeconds = optionalNumber(verb.data.timeout) ?? 0;
    const lookRun = new VerbRun();
    const stopLooking = run.onKill(() => lookRun.kill('hangup'));
    const timeout =
      timeoutSeconds > 0 ? this.timers.after(timeoutSeconds * 1000, () => lookRun.kill('replaced')) : undefined;
    let found = (await this.sleep(SIM_MS.dequeueFirstLook, lookRun))
      ? this.engine.queues.take(queueSid, wanted)
      : undefined;
    while (found === undefined && !lookRun.killed) {
      if (await this.sleep(SIM_MS.dequeuePoll, lookRun)) found = this.engine.queues.take(queueSid, wanted);
    }
    this.timers.cancel(timeout);
    stopLooking();
    if (run.killed) return;
    if (found === undefined) {
      this.sendActionWithoutWaiting(verb, { dequeueResult: 'timeout' });
      return;
    }
    if (verb.data.beep === true) this.call.heard.push('beep');
    const link = found.connect(this.call);
    this.bridge(found.call);
    const stopWatching = run.onKill(() => link.end());
    await link.over;
    stopWatching();
    this.unbridge(found.call);
    this.sendActionWithoutWaiting(verb, { dequeueResult: 'complete' });
  }

  private sendActionWithoutWaiting(verb: Verb, results: Data): void {
    this.performAction(verb, results).catch((err: unknown) => this.noteHookFailure(verb.name, err));
  }

  // --- Live Call Control -----------------------------------------------------------------------------------

  /**
   * Runs an accepted (202) update-call body, in the feature server's order: call_status, then
   * call_hook/child_call_hook, then the first of the status changes, then whisper. Effects that need a
   * verb that is not running are ignored, as jambonz ignores them (logged only).
   */
  async updateCall(body: Data, targetCallSid: string): Promise<void> {
    if (body.call_status === 'completed') return this.farEndHangsUp('hung up by Live Call Control');
    if (body.call_status === 'no-answer') return this.cancelUnanswered();
    if (body.call_hook !== undefined || body.child_call_hook !== undefined) return this.redirectByLiveControl(body);
    const running = this.current?.verb.name;
    if (typeof body.listen_status === 'string') {
      if (running === 'listen' && this.activeStream) {
        this.activeStream.setStatus(body.listen_status as ListenStatus);
        this.call.milestones.push(`stream ${body.listen_status}`);
      } else this.ignored('listen_status', running);
    } else if (typeof body.mute_status === 'string') {
      // This leg only, in a dial or in a conference (feature server `_lccMuteStatus`).
      const where = running === 'conference' ? ' in conference' : '';
      if (running === 'dial' || running === 'conference')
        this.call.milestones.push(`${body.mute_status === 'mute' ? 'muted' : 'unmuted'}${where}`);
      else this.ignored('mute_status', running);
    } else if (typeof body.conf_mute_status === 'string') {
      // Every member but the moderators (feature server `doConferenceMuteNonModerators`).
      if (running === 'conference')
        this.call.milestones.push(`${body.conf_mute_status === 'mute' ? 'muted' : 'unmuted'} the non-moderators`);
      else this.ignored('conf_mute_status', running);
    } else if (typeof body.conf_hold_status === 'string') {
      if (running === 'conference') this.call.milestones.push(body.conf_hold_status === 'hold' ? 'held' : 'unheld');
      else this.ignored('conf_hold_status', running);
    } else if (isData(body.tag)) {
      this.call.customerData = body.tag;
    } else if (isData(body.dtmf) && typeof body.dtmf.digit === 'string') {
      this.call.dtmfSent += body.dtmf.digit;
    } else if (Object.keys(body).some((key) => key !== 'whisper')) {
      this.engine.log(`${this.call.callSid}: ${Object.keys(body).join(', ')} accepted, not simulated`);
    }
    if (body.whisper !== undefined) this.whisper(body.whisper, targetCallSid);
  }

  private cancelUnanswered(): void {
    if (this.call.direction === 'inbound') {
      this.endSilently('rejected (503) by Live Call Control; jambonz sends no status for it');
      return;
    }
    // An outbound call still ringing: the rest:dial task is killed and CANCELs the INVITE.
    this.current?.run.kill('hangup');
  }

  /**
   * Fetches the redirect (session:redirect) first, then replaces the application, killing the running verb;
   * that verb's own actionHook still fires, and a non-empty answer to it replaces the application again.
   * A JSON answer that is not an array changes nothing; no JSON at all only kills the running verb.
   * A failed fetch is logged and the call goes on.
   */
  private async redirectByLiveControl(body: Data): Promise<void> {
    const callHook = this.hookTarget(body.call_hook);
    const childHook = this.hookTarget(body.child_call_hook);
    const winner = this.activeDial?.winner;
    try {
      const [answer, childAnswer] = await Promise.all([
        callHook &&
          this.engine.hooks.request(
            'session:redirect',
            callHook,
            snakeCaseKeys(this.call.callInfo(this.engine.account)) as Data,
            this.call.callSid,
          ),
        childHook &&
          winner &&
          this.engine.hooks.request(
            'session:redirect',
            childHook,
            snakeCaseKeys(winner.call.callInfo(this.engine.account)) as Data,
            winner.call.callSid,
          ),
      ]);
      if (childAnswer !== undefined)
        this.engine.adoptDialedLeg(this, this.activeDial?.detachWinner(), this.engine.readVerbs(childAnswer));
      if (answer?.body === undefined) {
        this.current?.run.kill('hangup');
        return;
      }
      this.replaceApplication(this.engine.readVerbs(answer));
    } catch (err) {
      this.noteHookFailure('Live Call Control call_hook', err);
    }
  }

  /** Plays say/play prompts to one leg of a running dial or listen, without breaking it. */
  private whisper(whisper: unknown, targetCallSid: string): void {
    const running = this.current?.verb.name;
    if (running !== 'dial' && running !== 'listen') return this.ignored('whisper', running);
    const leg = targetCallSid === this.call.callSid ? this.call : this.activeDial?.winner?.call;
    if (leg === undefined) return;
    for (const prompt of (Array.isArray(whisper) ? whisper : [whisper]) as Data[]) {
      const props = isData(prompt.say) ? prompt.say : isData(prompt.play) ? prompt.play : prompt;
      if (props.text !== undefined) leg.heard.push(pickText(props.text));
      else for (const url of Array.isArray(props.url) ? props.url : [props.url]) leg.heard.push(String(url));
    }
  }

  private ignored(what: string, running: string | undefined): void {
    this.engine.log(`${this.call.callSid}: ${what} ignored: the running verb is ${running ?? 'none'}`);
  }

  // --- plumbing --------------------------------------------------------------------------------------------

  /** Waits simulated time; resolves false (early) if the run is killed. */
  private sleep(simMs: number, run?: VerbRun): Promise<boolean> {
    if (run?.killed) return Promise.resolve(false);
    return new Promise((resolve) => {
      let stopWatching = () => undefined as unknown;
      const timer = this.timers.after(simMs, () => {
        stopWatching();
        resolve(true);
      });
      if (run) {
        stopWatching = run.onKill(() => {
          this.timers.cancel(timer);
          resolve(false);
        });
      }
    });
  }

  /** Stops the session's timers and streams (the simulator is closing). */
  close(): void {
    this.gone = true;
    this.current?.run.kill('hangup');
    this.stopBackgroundStream();
    this.activeStream?.close();
    this.timers.clear();
  }
}

function isData(value: unknown): value is Data {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function numberOf(value: unknown): number {
  return optionalNumber(value) ?? 0;
}

/** A number, or a numeric string (several verb properties are `number|string`). */
function optionalNumber(value: unknown): number | undefined {
  const parsed = typeof value === 'string' ? Number(value) : value;
  return typeof parsed === 'number' && Number.isFinite(parsed) ? parsed : undefined;
}

/** `loop`: a count or 'forever'; anything else plays once, as jambonz's `loop || 1`. */
function loopCount(loop: unknown): number {
  if (loop === 'forever') return Infinity;
  const count = optionalNumber(loop);
  return count !== undefined && count > 0 ? count : 1;
}

/** say `text`: an array picks one entry at random. */
function pickText(text: unknown): string {
  if (Array.isArray(text)) return String(text[Math.floor(Math.random() * text.length)] ?? '');
  return typeof text === 'string' ? text : '';
}

function speechMs(text: string): number {
  return Math.max(SIM_MS.speakMin, text.length * SIM_MS.speakPerChar);
}

/** A verb that may play before answering (183 early media), which the endpoint precondition then does not answer. */
function wantsEarlyMedia(verb: Verb): boolean {
  const data = verb.data;
  if (verb.name === 'dial') return data.answerOnBridge === true;
  if (verb.name === 'gather') {
    const nested = isData(data.say) ? data.say : isData(data.play) ? data.play : undefined;
    return nested?.earlyMedia === true;
  }
  return data.earlyMedia === true;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
