import {
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  log,
  patched,
  upsertSearchAttributes,
  type SignalDefinition,
} from '@temporalio/workflow';
import {
  CallEnded,
  CallQueueKey,
  type FlowArgs,
  agentCallEndedSignal,
  agentRingSeconds,
  isCallEnded,
  leaveQueueSignal,
  offerResultSignal,
  queueWorkflowId,
  requestCallbackSignal,
  type AgentCallEndedReport,
  type LeaveQueueReport,
  type OfferResultReport,
  type OverflowTarget,
  type QueueNotice,
  type RequestCallbackReport,
  type SkillRequirements,
  type CallEvent,
  type CallEventBase,
  type CallEventOf,
  type CallEventKind,
  type CallSessionInput,
  type DialOptions,
  type PlaceCallRequest,
  type EndCause,
  type GatherOptions,
  type GatherEndReason,
  type Prompt,
  type RecordOptions,
  type DetectMachineOptions,
  type MachineDetectionResult,
  type StreamOptions,
  type TranscribeOptions,
  type ConferenceOptions,
} from '../src/calls';
import { SessionEngine, activitiesFor, dueTimer, shouldContinueAsNew, type DueTimer } from './session-engine';

/** The longest a call stays in a conference before `joinConference` stops waiting (four hours). */
const CONFERENCE_MAX_MS = 4 * 3600_000;

/** SignalWire reports speech as playback, so either event ends a `say` (on every carrier, as recorded histories wait). */
const SPEECH_ENDS: readonly CallEventKind[] = ['speak.ended', 'playback.ended'];

export interface GatherResult {
  digits: string;
  reason: GatherEndReason;
  speech?: { text: string; confidence?: number };
}

export interface RecordingResult {
  url?: string;
  durationMs?: number;
  /** False when the recording failed or never reported back. */
  saved: boolean;
}

/** A fax's result as the carrier's `fax.ended` event reports it (`documentUrl`: sent, or where the received one is kept). */
export type FaxOutcome = Omit<CallEventOf<'fax.ended'>, keyof CallEventBase | 'kind'>;

export interface DialResult {
  answered: boolean;
  /** The carrier's id of the new leg. */
  callId: string;
  /** Why the leg ended, when it did not answer. */
  endCause?: EndCause;
  /** Dialed with `detectMachine` on a carrier that reports it with the dial: who answered. */
  machine?: MachineDetection;
}

export interface EnqueueOptions {
  /** Higher is served first. @default 0 */
  priority?: number;
  /** Skill name → lowest level an agent needs. */
  skills?: SkillRequirements;
  /** The key that asks for a callback while waiting. @default '*' */
  callbackDigit?: string;
}

/** How a wait in one of our queues ended (`call.enqueue`). */
export type EnqueueResult =
  | { outcome: 'connected'; queue: string; agentId: string; waitedSeconds: number }
  | { outcome: 'overflow'; queue: string; reason: 'full' | 'max-wait'; target?: OverflowTarget }
  | { outcome: 'callback-scheduled'; queue: string }
  | { outcome: 'removed'; queue: string; reason: string }
  | { outcome: 'caller-gone'; queue: string };

// Detection and media (issue 10 item 4).

/** Who answered, as a machine detector heard it. */
export interface MachineDetection {
  result: MachineDetectionResult;
  /** A machine's greeting ended with a beep (only when waited for and reported). */
  beep?: boolean;
}

/** How starting an audio stream went. */
export interface StreamResult {
  started: boolean;
  /** The carrier's reason when it could not stream. */
  failure?: string;
}

/** How a SIP REFER ended. */
export interface ReferResult {
  accepted: boolean;
  sipCode?: number;
}

/** A machine-detection report as the session keeps it, by leg, in the order the carrier sent them. */
interface DetectionReport {
  callId: string;
  result?: MachineDetectionResult;
  beep?: boolean;
}

/** How long a detector's verdict may take past its own timeout (webhook delivery). */
const DETECTION_GRACE_MS = 15_000;

/** An offer as the session takes it: from the queue's notice, or a callback session's arguments. */
export interface AgentOffer {
  queue: string;
  ticket: string;
  offerId: string;
  agents: Array<{ agentId: string; address: string }>;
  ringTimeoutSeconds: number;
}

/** How taking an offer went. */
export type OfferTaken =
  | { kind: 'talked'; agentId: string; endedBy: 'agent' | 'caller' }
  | { kind: 'missed' }
  | { kind: 'caller-gone' }
  | { kind: 'withdrawn' };

/** The queue's wait this session is in; notices for any other queue or ticket are stale and ignored. */
interface QueueWait {
  queue: string;
  ticket: string;
  notices: QueueNotice[];
}

/**
 * The flow API: what a flow can do with its call (answer, say, gather, dial, enqueue, media, faxes, ...), built on
 * the `SessionEngine` (events in through the `EventLedger`, commands out as activities or document steps through
 * the `DocumentChannel`). Each operation issues its command and resolves on its own terminal event. `CallSession`
 * (session.ts) adds what acts on the call from outside the flow: live controls, supervisors and transfers.
 */
export abstract class CallOperations extends SessionEngine {
  private queueWait?: QueueWait;
  /** The flow a redirect switched to: the next run (continue-as-new) runs it instead of the input's. */
  protected redirected?: { flow: string; flowArgs: FlowArgs };
  /** Machine-detection reports (a verdict can beat or trail the operation that waits for it). */
  private detections: DetectionReport[] = [];
  /** The carrier's id of the fax running on the call (SignalWire names it in its fax callbacks). */
  private faxControlId?: string;
  /** Streams the carrier reported stopped or failed, counted: a stop's report names the stream, not the stop. */
  private streamEnds = 0;

  /** The signal handler: the engine applies the event; machine verdicts and fax ids are kept for the media operations. */
  override onEvent(event: CallEvent): void {
    super.onEvent(event);
    if (event.kind === 'machine.detection.ended') this.detections.push({ callId: event.callId, result: event.result });
    if (event.kind === 'machine.greeting.ended') this.detections.push({ callId: event.callId, beep: event.beep });
    if ((event.kind === 'fax.page' || event.kind === 'fax.ended') && event.controlId)
      this.faxControlId = event.controlId;
    if (event.kind === 'stream.stopped' || event.kind === 'stream.failed') this.streamEnds++;
  }

  /** The `queueNoticeSignal` handler: keeps the notice for the wait it belongs to. Never throws. */
  onQueueNotice(notice: QueueNotice): void {
    const wait = this.queueWait;
    if (!wait || wait.queue !== notice.queue || wait.ticket !== notice.ticket) {
      log.info('queue notice for no current wait; ignored', { queue: notice.queue, kind: notice.kind });
      return;
    }
    wait.notices.push(notice);
  }

  /** Answers an inbound call; resolves once the carrier reports it answered. */
  async answer(): Promise<void> {
    if (this.state.answeredAt && !this.ended) return;
    const event = await this.command({ op: 'answer' }, { terminal: ['call.answered'], timeoutMs: 30_000 });
    if (!event && !this.ended && !this.state.answeredAt) {
      // A document carrier handed the answer step back without a separate answered event.
      this.ledger.noteAnswered(new Date().toISOString());
      this.setStatus('answered');
    }
  }

  /** Hangs up; resolves once the call has ended (also if it already had). */
  async hangup(): Promise<void> {
    if (this.ended || !this.state.callId) return;
    try {
      await this.command({ op: 'hangup' }, { terminal: ['call.ended'], timeoutMs: 30_000 });
    } catch (err) {
      if (!(err instanceof CallEnded)) throw err;
    }
  }

  /** Refuses an unanswered inbound call. */
  async reject(reason: 'busy' | 'rejected' = 'rejected'): Promise<void> {
    try {
      await this.command({ op: 'reject', reason }, { terminal: ['call.ended'], timeoutMs: 30_000 });
    } catch (err) {
      if (!(err instanceof CallEnded)) throw err;
    }
  }

  /** Speaks text; resolves when it has finished playing. */
  async say(text: string, options: { voice?: string; language?: string } = {}): Promise<void> {
    await this.command(
      { op: 'say', text, ...options },
      { terminal: SPEECH_ENDS, timeoutMs: 60_000 + text.length * 150 },
    );
  }

  /** Plays an audio URL; resolves when it has finished. */
  async play(url: string, options: { loop?: number } = {}): Promise<void> {
    await this.command({ op: 'play', url, ...options }, { terminal: ['playback.ended'], timeoutMs: 10 * 60_000 });
  }

  async stopPlayback(): Promise<void> {
    await this.command({ op: 'stopPlayback', ...this.targetOf(['play', 'say']) });
  }

  /** Collects digits, optionally after a spoken or played prompt. */
  async gather(options: GatherOptions = {}): Promise<GatherResult> {
    const promptAllowanceMs =
      options.prompt && 'say' in options.prompt ? 30_000 + options.prompt.say.length * 150 : 120_000;
    const waitMs =
      promptAllowanceMs +
      (options.timeoutMs ?? 5000) +
      (options.maxDigits ?? 1) * (options.interDigitTimeoutMs ?? 3000);
    const event = await this.command({ op: 'gather', ...options }, { terminal: ['gather.ended'], timeoutMs: waitMs });
    if (event?.kind !== 'gather.ended') return { digits: '', reason: 'timeout' };
    return { digits: event.digits, reason: event.reason, ...(event.speech ? { speech: event.speech } : {}) };
  }

  /** Convenience: `gather` with a prompt. */
  async ask(prompt: Prompt, options: Omit<GatherOptions, 'prompt'> = {}): Promise<GatherResult> {
    return this.gather({ ...options, prompt });
  }

  async stopGather(): Promise<void> {
    await this.command({ op: 'stopGather', ...this.targetOf(['gather']) });
  }

  /**
   * Records until silence, the time limit or a hang-up, and resolves with the saved recording. A caller
   * hanging up ends a voicemail: the recording is still awaited, then later operations fail with `CallEnded`.
   */
  async record(options: RecordOptions = {}): Promise<RecordingResult> {
    this.ledger.recordingInProgress = true;
    const event = await this.command(
      { op: 'recordStart', ...options },
      {
        terminal: ['recording.saved', 'recording.failed'],
        timeoutMs: ((options.maxSeconds ?? 120) + 60) * 1000,
        afterHangupMs: 60_000,
      },
    );
    this.ledger.recordingInProgress = false;
    if (event?.kind === 'recording.saved') return { saved: true, url: event.url, durationMs: event.durationMs };
    return { saved: false };
  }

  /** Starts recording in the background (the whole call, say); `stopRecording` or hang-up ends it. */
  async startRecording(options: RecordOptions = {}): Promise<void> {
    this.ledger.recordingInProgress = true;
    await this.command({ op: 'recordStart', ...options });
  }

  async stopRecording(): Promise<RecordingResult> {
    const event = await this.command(
      { op: 'recordStop', ...this.targetOf(['recordStart']) },
      { terminal: ['recording.saved', 'recording.failed'], timeoutMs: 60_000 },
    );
    return event?.kind === 'recording.saved'
      ? { saved: true, url: event.url, durationMs: event.durationMs }
      : { saved: false };
  }

  async pauseRecording(): Promise<void> {
    await this.command({ op: 'recordPause', ...this.targetOf(['recordStart']) });
  }

  async resumeRecording(): Promise<void> {
    await this.command({ op: 'recordResume', ...this.targetOf(['recordStart']) });
  }

  /**
   * Places a new leg owned by this session; resolves when it answers or ends. On a document carrier the
   * carrier dials and bridges in one step, so an answered leg is already bridged to the caller, and the
   * carrier speaks the whisper; elsewhere the session says it on the answered leg.
   */
  async dial(options: DialOptions): Promise<DialResult> {
    this.requirePrimary('dial');
    const { whisper, ...dialed } = options;
    if (whisper && !this.channel.dialBridges) {
      const result = await this.dial(dialed);
      if (result.answered) await this.whisper(result.callId, whisper);
      return result;
    }
    if (this.channel.dialBridges) {
      const event = await this.command(
        {
          op: 'connect',
          to: options.to,
          from: options.from ?? this.state.to,
          timeoutSeconds: options.timeoutSeconds ?? 30,
          ...(whisper ? { whisper } : {}),
        },
        { terminal: ['bridged', 'unbridged'], timeoutMs: ((options.timeoutSeconds ?? 30) + 30) * 1000 },
      );
      if (event?.kind === 'bridged') return { answered: true, callId: event.otherCallId ?? '' };
      const agent = this.state.legs.find((l) => l.role === 'agent' && l.status === 'ended');
      return { answered: false, callId: agent?.callId ?? '', endCause: agent?.endCause ?? 'no-answer' };
    }
    return this.placeAgentLeg(options);
  }

  /** Places a leg of the session's own (`dial` on a command carrier, or one that joins a room) and waits for it. */
  protected async placeAgentLeg(options: DialOptions & Pick<PlaceCallRequest, 'joinRoom'>): Promise<DialResult> {
    const { seq, key } = this.begin('dial', '');
    const reportsBefore = this.detections.length;
    try {
      const { callId, waiter } = await this.placeLeg('agent', seq, key, {
        ...options,
        from: options.from ?? this.state.to,
      });
      try {
        const event = await this.awaitTerminal(waiter, ((options.timeoutSeconds ?? 30) + 30) * 1000);
        const result: DialResult =
          event?.kind === 'call.answered'
            ? { answered: true, callId }
            : { answered: false, callId, endCause: event?.kind === 'call.ended' ? event.cause : 'no-answer' };
        // Detection and media (issue 10 item 4): the carrier's verdict on who answered follows the answer.
        if (result.answered && options.detectMachine && patched('dial-machine-detection'))
          result.machine = await this.machineVerdict(callId, reportsBefore, 30_000, false);
        this.finish(seq, result.answered ? 'answered' : `not answered (${result.endCause})`);
        return result;
      } finally {
        this.ledger.pending.splice(this.ledger.pending.indexOf(waiter), 1);
      }
    } catch (err) {
      this.finish(seq, (err as Error).name ?? 'failed');
      throw err;
    }
  }

  /** Says `text` on a leg this session placed, before it is bridged (a dial's whisper on a command carrier). */
  private async whisper(callId: string, text: string): Promise<void> {
    await this.command({ op: 'say', text }, { callId, terminal: SPEECH_ENDS, timeoutMs: 30_000 });
  }

  /** Hangs up a leg this session placed (not the caller). */
  async hangupLeg(callId: string): Promise<void> {
    const leg = this.state.legs.find((l) => l.callId === callId);
    if (!leg || leg.status === 'ended') return;
    await this.command({ op: 'hangup' }, { callId, terminal: ['call.ended'], timeoutMs: 30_000 });
  }

  /** Connects the caller with another leg; resolves once the carrier reports the bridge. */
  async bridge(otherCallId: string): Promise<void> {
    // Already bridged by `dial`.
    if (this.state.status === 'bridged' && this.channel.dialBridges) return;
    // Sessions recorded before bridges kept the caller replay their bridges as they were.
    if (!this.channel.dialBridges && patched('bridge-keeps-caller')) this.state.bridgeKeepsCaller = true;
    await this.command(
      { op: 'bridge', otherCallId, ...(this.state.bridgeKeepsCaller ? { keepOnUnbridge: true } : {}) },
      { terminal: ['bridged'], timeoutMs: 30_000 },
    );
  }

  /**
   * Joins the named conference and resolves when the call has left it: the conference ended (a member with
   * `endOnExit` left) or the call was moved out. A caller who hangs up in the conference rejects with
   * `CallEnded`. Telnyx (no conferences here) fails with `Unsupported`.
   */
  async joinConference(name: string, options: ConferenceOptions = {}): Promise<void> {
    await this.command(
      { op: 'joinConference', name, ...options },
      { terminal: ['conference.left'], timeoutMs: CONFERENCE_MAX_MS },
    );
  }

  /** Transfers the caller to a new destination (a new leg bridged by the carrier). */
  async transfer(to: string, options: { from?: string; timeoutSeconds?: number } = {}): Promise<void> {
    await this.command(
      { op: 'transfer', to, ...options },
      { terminal: ['bridged'], timeoutMs: ((options.timeoutSeconds ?? 30) + 30) * 1000 },
    );
  }

  async sendDtmf(digits: string): Promise<void> {
    await this.command({ op: 'sendDtmf', digits });
  }

  /** Puts the caller in the carrier's own named queue (no agents: see `enqueue`); resolves when the carrier confirms. */
  async enqueueAtCarrier(queue: string, options: { maxWaitSeconds?: number } = {}): Promise<void> {
    await this.command({ op: 'enqueue', queue, ...options }, { terminal: ['queue.joined'], timeoutMs: 30_000 });
  }

  /** Leaves the carrier's own queue (`enqueueAtCarrier`). */
  async leaveQueue(): Promise<void> {
    await this.command({ op: 'leaveQueue' }, { terminal: ['queue.left'], timeoutMs: 30_000 });
  }

  /**
   * Waits in one of our queues (`queue:<name>`, the queues file) until an agent took the call and it ended,
   * the queue let the caller go (overflow, removed), the caller asked for a callback, or hung up. While
   * waiting: hold music, and every announcement interval the caller's own position and estimated wait.
   */
  async enqueue(queue: string, options: EnqueueOptions = {}): Promise<EnqueueResult> {
    const callId = this.requirePrimary('enqueue');
    const callbackDigit = options.callbackDigit ?? '*';
    // The command key is stable across the join activity's retries and replays: it is the ticket.
    const { seq, key: ticket } = this.begin('queue', callId);
    const wait: QueueWait = { queue, ticket, notices: [] };
    this.queueWait = wait;
    const arrived = Date.now();
    let inLine = false;
    let announcement: DueTimer | undefined;
    const done = (result: EnqueueResult): EnqueueResult => {
      this.finish(seq, result.outcome);
      return result;
    };
    try {
      const joined = await this.activity('joinQueue', () =>
        activitiesFor(`join queue ${queue}`).joinQueue({
          queue,
          requestId: ticket,
          sessionWorkflowId: this.workflowId,
          ...(options.priority !== undefined ? { priority: options.priority } : {}),
          ...(options.skills ? { skills: options.skills } : {}),
        }),
      );
      if (joined!.kind === 'overflow')
        return done({ outcome: 'overflow', queue, reason: 'full', target: joined!.target });
      if (joined!.kind === 'ended') return done({ outcome: 'removed', queue, reason: joined!.outcome });
      inLine = true;
      upsertSearchAttributes([{ key: CallQueueKey, value: queue }]);
      const music = joined!.holdMusicUrl;
      const intervalMs = Math.max(5, joined!.announcementIntervalSeconds) * 1000;
      let nextAnnouncement = Date.now() + intervalMs;
      // One timer per announcement, not one armed and cancelled per stretch of hold music (two history events
      // per stretch); waits recorded before arm one per stretch.
      const oneTimer = patched('hold-announcement-timer');
      announcement = oneTimer ? dueTimer(intervalMs) : undefined;
      for (;;) {
        const notice = wait.notices.shift();
        if (notice?.kind === 'offer') {
          const taken = await this.takeOffer({ ...notice, queue, ticket });
          if (taken.kind === 'talked') {
            inLine = false;
            const waitedSeconds = Math.round((Date.now() - arrived) / 1000);
            return done({ outcome: 'connected', queue, agentId: taken.agentId, waitedSeconds });
          }
          if (taken.kind === 'caller-gone') {
            inLine = false;
            return done({ outcome: 'caller-gone', queue });
          }
          continue;
        }
        if (notice?.kind === 'overflow') {
          inLine = false;
          return done({ outcome: 'overflow', queue, reason: notice.reason, target: notice.target });
        }
        if (notice?.kind === 'removed') {
          inLine = false;
          return done({ outcome: 'removed', queue, reason: notice.reason });
        }
        if (notice) continue; // a withdrawn offer that is no longer out
        if (announcement?.due || Date.now() >= nextAnnouncement) {
          await this.announcePosition(queue, ticket);
          nextAnnouncement = Date.now() + intervalMs;
          if (oneTimer) {
            announcement?.cancel(); // fired, unless the workflow's clock got there first
            announcement = dueTimer(intervalMs);
          }
          continue;
        }
        const pressed = await this.holdSegment(wait, music, callbackDigit, nextAnnouncement - Date.now(), announcement);
        if (pressed && !wait.notices.some((n) => n.kind === 'offer')) {
          await this.reportToQueue(queue, requestCallbackSignal, {
            ticket,
            callback: {
              provider: this.provider,
              to: this.state.from,
              from: this.state.to,
              ...(this.input.documentOps ? { documentOps: this.input.documentOps } : {}),
            },
          } satisfies RequestCallbackReport);
          inLine = false;
          try {
            await this.say('Thank you. We will call you back as soon as an agent is free. Goodbye.');
            await this.hangup();
          } catch (err) {
            if (!isCallEnded(err)) throw err;
          }
          return done({ outcome: 'callback-scheduled', queue });
        }
      }
    } catch (err) {
      if (!isCallEnded(err)) throw err;
      // The caller hung up while waiting (an offer out reports its own `caller-gone`).
      if (inLine)
        await this.reportToQueue(queue, leaveQueueSignal, { ticket, reason: 'hangup' } satisfies LeaveQueueReport);
      return done({ outcome: 'caller-gone', queue });
    } finally {
      announcement?.cancel();
      if (this.queueWait === wait) this.queueWait = undefined;
    }
  }

  /**
   * Dials the offered agent(s), first to answer wins (ring-all offers several), whispers the queue's name to
   * them, bridges the caller and waits for the agent call to end, reporting each step to the queue. Used by
   * `enqueue` and by the queue's callback sessions.
   */
  async takeOffer(offer: AgentOffer): Promise<OfferTaken> {
    const { queue, ticket, offerId } = offer;
    const report = (r: Omit<OfferResultReport, 'ticket' | 'offerId'>) =>
      this.reportToQueue(queue, offerResultSignal, { ticket, offerId, ...r } satisfies OfferResultReport);
    const withdrawn = () =>
      this.queueWait?.notices.some((n) => n.kind === 'offer-withdrawn' && n.offerId === offerId) === true;
    const timeoutSeconds = agentRingSeconds(offer.ringTimeoutSeconds);
    // The agent hears which queue the caller comes from before the bridge. Where the carrier bridges the dial
    // itself it speaks the whisper; elsewhere only the winner of a ring-all hears it, once chosen (below).
    const whisper = `Call from the ${queue} queue.`;
    // Each agent's dial, settled when it answered or ended.
    const dials = offer.agents.map((agent) => {
      const dial: { agent: typeof agent; result?: DialResult; failed?: unknown; settled: boolean } = {
        agent,
        settled: false,
      };
      void this.dial({ to: agent.address, timeoutSeconds, ...(this.channel.dialBridges ? { whisper } : {}) }).then(
        (result) => Object.assign(dial, { result, settled: true }),
        (failed: unknown) => Object.assign(dial, { failed, settled: true }),
      );
      return dial;
    });
    await condition(
      () => dials.some((d) => d.result?.answered) || dials.every((d) => d.settled) || this.ended || withdrawn(),
    );
    const winner = this.ended || withdrawn() ? undefined : dials.find((d) => d.result?.answered);
    // Every other leg is hung up: the losers of a ring-all, or all of them when the caller left.
    for (const d of dials) {
      if (d !== winner && !d.settled) await this.dropAgentLeg(d.agent.address);
      if (d !== winner && d.result?.answered) await this.dropLeg(d.result.callId);
    }
    await condition(() => dials.every((d) => d.settled || this.legEnded(d.agent.address)));
    if (this.ended) {
      await report({ outcome: 'caller-gone' });
      return { kind: 'caller-gone' };
    }
    if (!winner) {
      if (withdrawn()) return { kind: 'withdrawn' };
      const failed = dials.filter((d) => d.failed !== undefined && !isCallEnded(d.failed));
      await report({
        outcome: failed.length === dials.length ? 'agent-failed' : 'no-answer',
        agentIds: dials.map((d) => d.agent.agentId),
      });
      return { kind: 'missed' };
    }
    const agentCallId = winner.result!.callId;
    const agentId = winner.agent.agentId;
    await report({ outcome: 'answered', agentId });
    let endedBy: 'agent' | 'caller' = 'caller';
    try {
      if (!this.channel.dialBridges) {
        await this.whisper(agentCallId, whisper);
        await this.bridge(agentCallId);
      }
      await condition(() => this.ended || this.bridgeOver(agentCallId));
      endedBy = this.ended ? 'caller' : 'agent';
    } catch (err) {
      if (!isCallEnded(err)) throw err;
      endedBy = this.legEnded(undefined, agentCallId) ? 'agent' : 'caller';
    } finally {
      await this.dropLeg(agentCallId);
      // After a transfer the caller talked to someone else at the end.
      if (this.state.transfer && this.state.bridge?.callId) await this.dropLeg(this.state.bridge.callId);
      await this.reportToQueue(queue, agentCallEndedSignal, {
        ticket,
        offerId,
        agentId,
        endedBy,
      } satisfies AgentCallEndedReport);
    }
    return { kind: 'talked', agentId, endedBy };
  }

  /** Tells the queue workflow; a queue that is gone cannot take the report, and the call goes on regardless. */
  async reportToQueue<T>(queue: string, signal: SignalDefinition<[T]>, report: T): Promise<void> {
    try {
      await getExternalWorkflowHandle(queueWorkflowId(queue)).signal(signal, report);
    } catch (err) {
      log.warn(`queue ${queue}: ${signal.name} not delivered`, { error: (err as Error)?.message });
    }
  }

  /**
   * One stretch of hold music that a key press, a notice or the next announcement ends; the digit if pressed.
   * On a document carrier the stretch runs to its end: a running document step has no race-free stop (a
   * SignalWire document step has no control id; a jambonz redirect races the gather's own hand-back), so a
   * notice waits for the hold music to end (keep its file short there). `announcement`: the wait's timer
   * (absent in waits recorded before it, which arm a timer of their own for `untilAnnouncementMs`).
   */
  private async holdSegment(
    wait: QueueWait,
    music: string | undefined,
    callbackDigit: string,
    untilAnnouncementMs: number,
    announcement?: DueTimer,
  ): Promise<boolean> {
    let settled = false;
    let result: GatherResult | undefined;
    let failure: unknown;
    void this.gather({
      ...(music ? { prompt: { play: music } } : {}),
      maxDigits: 1,
      validDigits: callbackDigit,
      timeoutMs: music ? 1000 : Math.max(1000, untilAnnouncementMs),
    }).then(
      (r) => {
        result = r;
        settled = true;
      },
      (e: unknown) => {
        failure = e;
        settled = true;
      },
    );
    const stoppable = !this.channel.carries('gather');
    const stopWaiting = () => settled || (stoppable && wait.notices.length > 0);
    let interrupted: boolean;
    if (announcement) {
      await condition(() => stopWaiting() || announcement.due);
      interrupted = stopWaiting();
    } else {
      interrupted = await condition(stopWaiting, Math.max(1, untilAnnouncementMs));
    }
    if (!settled) {
      if (stoppable && (interrupted || !this.ended)) {
        try {
          await this.stopGather();
        } catch (err) {
          // A stop that found no gather (it had just ended) changes nothing.
          if (isCallEnded(err)) throw err;
          log.info('stopping the hold gather failed', { error: (err as Error)?.message });
        }
      }
      await condition(() => settled);
    }
    if (failure !== undefined) throw failure as Error;
    return result?.reason === 'complete' && result.digits === callbackDigit;
  }

  /** Reads the caller's place from the queue (a query: nothing in the queue's history) and says it. */
  private async announcePosition(queue: string, ticket: string): Promise<void> {
    let position;
    try {
      position = await this.activity('readQueuePosition', () =>
        activitiesFor(`queue ${queue} position`).readQueuePosition({ queue, ticket }),
      );
    } catch (err) {
      if (isCallEnded(err)) throw err;
      log.warn('queue position unavailable', { error: (err as Error)?.message });
      return;
    }
    if (!position || position.status !== 'waiting' || position.position === undefined) return;
    const estimate =
      position.estimatedWaitSeconds === undefined
        ? ''
        : ` Your estimated wait is about ${Math.max(1, Math.round(position.estimatedWaitSeconds / 60))} minutes.`;
    await this.say(`You are number ${position.position} in line.${estimate}`);
  }

  /** Whether a leg this session placed has ended (by address, the newest such leg; or by call id). */
  protected legEnded(address: string | undefined, callId?: string): boolean {
    const leg = [...this.state.legs].reverse().find((l) => (callId ? l.callId === callId : l.to === address));
    return leg !== undefined && leg.status === 'ended';
  }

  private async dropAgentLeg(address: string): Promise<void> {
    const leg = [...this.state.legs].reverse().find((l) => l.role === 'agent' && l.to === address);
    if (leg) await this.dropLeg(leg.callId);
  }

  /**
   * Hangs up an agent leg, also after the caller has gone (when `hangupLeg` would refuse). `bridgedByCarrier`:
   * not a leg of the session but the call a document carrier's dial bridged in (a warm transfer releases it);
   * a failure then goes into the timeline, where nothing else would show it.
   */
  protected async dropLeg(callId: string, options: { bridgedByCarrier?: boolean } = {}): Promise<void> {
    const leg = this.state.legs.find((l) => l.callId === callId);
    if (leg?.status === 'ended' || (!leg && !options.bridgedByCarrier)) return;
    const { seq, key } = this.begin('hangup', callId);
    try {
      await activitiesFor('hangup agent').sendCallCommand({
        op: 'hangup',
        provider: this.provider,
        callId,
        commandKey: key,
        ownerWorkflowId: this.workflowId,
      });
      this.finish(seq, 'sent');
    } catch (err) {
      this.finish(seq, 'failed');
      log.warn('hanging up an agent leg failed', { callId, error: (err as Error)?.message });
      if (options.bridgedByCarrier) this.ledger.note(`hanging up ${callId} failed: ${(err as Error)?.message}`);
    }
  }

  async startFork(target: { rx?: string; tx?: string }): Promise<void> {
    await this.command({ op: 'forkStart', ...target }, { terminal: ['fork.started'], timeoutMs: 30_000 });
  }

  async stopFork(): Promise<void> {
    await this.command(
      { op: 'forkStop', ...this.targetOf(['forkStart']) },
      { terminal: ['fork.stopped'], timeoutMs: 30_000 },
    );
  }

  // ---------------------------------------------------------------------------------------------
  // Detection and media (issue 10 item 4).

  /**
   * Listens to the call and tells who is there: a person, a machine, a fax, or unknown. With `waitForBeep`
   * (the default) a machine's verdict waits for its greeting to end too, so a message can follow. SignalWire
   * (`calling.detect`) and jambonz (`config` amd) detect mid-call; Telnyx only on a dial (`dial({ detectMachine })`).
   */
  async detectMachine(options: DetectMachineOptions = {}): Promise<MachineDetection> {
    const callId = this.requirePrimary('detectMachine');
    const reportsBefore = this.detections.length;
    const timeoutMs = (options.timeoutSeconds ?? 30) * 1000;
    // A document step is handed back once the detector runs; the verdict then comes on its own.
    await this.command(
      { op: 'detectMachine', ...options },
      { terminal: ['machine.detection.ended'], timeoutMs: timeoutMs + DETECTION_GRACE_MS },
    );
    return this.machineVerdict(callId, reportsBefore, timeoutMs, options.waitForBeep ?? true);
  }

  /** The first verdict on a leg since `reportsBefore`, and the beep after a machine's when asked to wait for it. */
  private async machineVerdict(
    callId: string,
    reportsBefore: number,
    timeoutMs: number,
    waitForBeep: boolean,
  ): Promise<MachineDetection> {
    const reports = () => this.detections.slice(reportsBefore).filter((r) => r.callId === callId);
    const gone = () => this.ended || this.legEnded(undefined, callId);
    const verdict = () => reports().find((r) => r.result !== undefined)?.result;
    await condition(() => verdict() !== undefined || gone(), timeoutMs + DETECTION_GRACE_MS);
    const result = verdict() ?? 'unknown';
    if (result !== 'machine' || !waitForBeep) return { result };
    const greeting = () => reports().find((r) => r.beep !== undefined);
    await condition(() => greeting() !== undefined || gone(), timeoutMs + DETECTION_GRACE_MS);
    return { result, beep: greeting()?.beep ?? false };
  }

  /**
   * Streams the call's audio to a WebSocket until `stopStream` or the end of the call (Telnyx
   * `streaming_start`, SignalWire `calling.stream`, jambonz background `listen`).
   */
  async startStream(options: StreamOptions): Promise<StreamResult> {
    const event = await this.command(
      { op: 'streamStart', ...options },
      { terminal: ['stream.started', 'stream.failed'], timeoutMs: 30_000 },
    );
    if (event?.kind === 'stream.failed') return { started: false, failure: event.reason };
    // jambonz reports nothing for a background stream: the step ran.
    return { started: event?.kind === 'stream.started' || this.channel.carries('streamStart') };
  }

  /**
   * Stops the stream; resolves once the carrier reports it stopped. SignalWire reports it under the stream's
   * `control_id`, which the ledger would take for a late echo of the start, so the session counts stream ends
   * itself. jambonz reports nothing: the step ran.
   */
  async stopStream(): Promise<void> {
    const endsBefore = this.streamEnds;
    await this.command({ op: 'streamStop', ...this.targetOf(['streamStart']) });
    if (this.channel.carries('streamStop')) return;
    await condition(() => this.streamEnds > endsBefore || this.ended, 30_000);
  }

  /** Starts the no-input timer of a gather started without it (SignalWire `calling.collect.start_input_timers`). */
  async startInputTimers(): Promise<void> {
    await this.command({ op: 'startInputTimers', ...this.targetOf(['gather']) });
  }

  /** Pauses the running playback (SignalWire `calling.play.pause`, for a playback sent as a Calling API command). */
  async pausePlayback(): Promise<void> {
    await this.command({ op: 'playPause', ...this.targetOf(['play', 'say']) });
  }

  async resumePlayback(): Promise<void> {
    await this.command({ op: 'playResume', ...this.targetOf(['play', 'say']) });
  }

  /** Sets the running playback's volume, -40..40 dB (SignalWire `calling.play.volume`). */
  async setPlaybackVolume(volumeDb: number): Promise<void> {
    await this.command({ op: 'playVolume', volumeDb, ...this.targetOf(['play', 'say']) });
  }

  /** Turns noise reduction on the caller's audio on or off (SignalWire `calling.denoise`, Telnyx `suppression_*`). */
  async denoise(on: boolean): Promise<void> {
    await this.command({ op: on ? 'denoiseStart' : 'denoiseStop' });
  }

  /** Transcribes the caller live (SignalWire `calling.live_transcribe`, Telnyx `transcription_start`). */
  async startTranscription(options: TranscribeOptions = {}): Promise<void> {
    await this.command({ op: 'transcribeStart', ...options });
  }

  async stopTranscription(): Promise<void> {
    await this.command({ op: 'transcribeStop' });
  }

  /** Fires an application event on the call (SignalWire `calling.user_event`). */
  async userEvent(event: Record<string, string | number | boolean>): Promise<void> {
    await this.command({ op: 'userEvent', event });
  }

  /** Hands the call to a SIP endpoint with a SIP REFER; resolves with the far end's answer. */
  async refer(to: string): Promise<ReferResult> {
    const event = await this.command({ op: 'refer', to }, { terminal: ['refer.ended'], timeoutMs: 60_000 });
    if (event?.kind !== 'refer.ended') return { accepted: false };
    return { accepted: event.success, ...(event.sipCode === undefined ? {} : { sipCode: event.sipCode }) };
  }

  /** Stops the fax being received on this call (SignalWire `calling.receive_fax.stop`); `receiveFax` then resolves. */
  async stopReceiveFax(): Promise<void> {
    await this.command({ op: 'stopReceiveFax', ...(this.faxControlId ? { target: this.faxControlId } : {}) });
  }

  /** Sends a fax on this call (document carriers only; Telnyx fails with `Unsupported`). Pages show in `state.fax`. */
  async sendFax(documentUrl: string, options: { headerInfo?: string; identity?: string } = {}): Promise<FaxOutcome> {
    return this.faxOutcome(
      await this.command(
        { op: 'sendFax', documentUrl, ...options },
        { terminal: ['fax.ended'], timeoutMs: 30 * 60_000 },
      ),
    );
  }

  /** Receives a fax on this call; the outcome names the received document's URL. Pages show in `state.fax`. */
  async receiveFax(): Promise<FaxOutcome> {
    return this.faxOutcome(
      await this.command({ op: 'receiveFax' }, { terminal: ['fax.ended'], timeoutMs: 30 * 60_000 }),
    );
  }

  private faxOutcome(event: CallEvent | undefined): FaxOutcome {
    if (event?.kind !== 'fax.ended')
      return { success: false, pages: this.state.fax?.pagesDone ?? 0, resultText: 'no fax result' };
    const { success, pages, resultCode, resultText, remoteIdentity, documentUrl } = event;
    return { success, pages, resultCode, resultText, remoteIdentity, documentUrl };
  }

  /**
   * Waits until the call ends (a bridged call, a caller on hold), continuing-as-new as needed so a
   * four-hour call stays within history limits. `step` is where the flow resumes in the next run.
   */
  async waitForHangup(step = 'waitForHangup'): Promise<void> {
    // A caller whose bridge keeps it (Telnyx, `bridgeKeepsCaller`) is still bridged in our state when the agent
    // hangs up (Telnyx reports no unbridge): the bridged party's end is the bridge's end.
    const kept = this.state.bridgeKeepsCaller === true;
    const bridged = this.state.status === 'bridged' && (this.channel.bridgeEndReturnsCaller || kept);
    const partyLeft = () => {
      const party = this.state.bridge?.callId;
      return kept && party !== undefined && this.legEnded(undefined, party);
    };
    const over = () =>
      this.ended || (bridged && !this.transferring && (this.state.status !== 'bridged' || partyLeft()));
    for (;;) {
      await condition(() => over() || shouldContinueAsNew(this.input));
      if (over()) return;
      await this.checkpoint(step);
    }
  }

  /**
   * A point where the flow can be resumed from plain data. If Temporal suggests continue-as-new, the run
   * ends here and the next run calls the flow again with `resume = { step, data }`.
   */
  async checkpoint(step: string, data?: Record<string, unknown>): Promise<void> {
    if (this.ended || !shouldContinueAsNew(this.input) || this.ledger.pending.length > 0) return;
    // A consult holds the caller on a step the new run would not know (its hold music, given up, is still running).
    if (this.transferring && patched('no-continue-as-new-mid-transfer')) return;
    this.stopWatching();
    this.channel.drain();
    await condition(allHandlersFinished);
    const { state, seenEventIds, pendingEvents } = this.ledger.carried();
    await continueAsNew<(input: CallSessionInput) => Promise<unknown>>({
      ...this.input,
      ...this.redirected,
      callId: this.state.callId,
      carried: {
        state,
        seenEventIds,
        nextSequence: this.nextSequence,
        checkpoint: { step, ...(data ? { data } : {}) },
        pendingEvents,
      },
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Transfers keep the caller's bridge open between parties (see CallSession's transfer controls).

  /** A transfer control is being carried out: its update handler runs. */
  protected transferUnderWay = false;

  /** Whether a transfer keeps the caller's bridge open between parties: one under way, or a consult. */
  protected get transferring(): boolean {
    return this.transferUnderWay || this.state.transfer?.step === 'consulting';
  }

  /**
   * Whether the caller's bridge to an agent is over (that leg ended, or the caller is no longer bridged).
   * After a transfer the bridge is the one to the new party (`state.bridge`).
   */
  protected bridgeOver(agentCallId: string): boolean {
    if (this.transferring) return false;
    const party = this.state.transfer ? this.state.bridge?.callId : agentCallId;
    return (party !== undefined && this.legEnded(undefined, party)) || this.state.status !== 'bridged';
  }
}
