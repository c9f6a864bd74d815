import {
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  proxyActivities,
  setCurrentDetails,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import {
  CallEnded,
  CallStatusKey,
  CallQueueKey,
  ErrorType,
  STATE_LIMITS,
  Unsupported,
  commandKey,
  failureType,
  type CallCommand,
  type CallCommandBody,
  type DocumentReply,
  type DocumentRequest,
  type CallEvent,
  type CallEventBase,
  type CallEventOf,
  type CallEventKind,
  type CallSessionInput,
  type CallState,
  type CallStatus,
  type DialOptions,
  type EndCause,
  type FlowCheckpoint,
  type GatherOptions,
  type GatherEndReason,
  type LegState,
  type Prompt,
  type RecordOptions,
} from '../src/calls';
import type { CallActivities } from '../activities';
import { COMMAND_OPTIONS } from './activity-options';
import { DocumentChannel } from './document-channel';
import { EventLedger, endedByHangup, type LedgerEffect, type PendingOperation } from './event-ledger';

/**
 * The flow API. One `CallSession` per workflow run: operations go out as activities (or, on a document
 * carrier, through the `DocumentChannel`), and carrier events come in through `onEvent` (the signal
 * handler) into the `EventLedger`, which settles the operations a flow is waiting on. Everything here is
 * deterministic and plain JSON, so it replays and continues-as-new.
 */

function activitiesFor(summary: string): CallActivities {
  return proxyActivities<CallActivities>({ ...COMMAND_OPTIONS, summary });
}

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
}

/** Whether this run should continue-as-new at its next checkpoint. */
function shouldContinueAsNew(input: CallSessionInput): boolean {
  const info = workflowInfo();
  if (info.continueAsNewSuggested) return true;
  return input.continueAsNewAtHistoryLength !== undefined && info.historyLength >= input.continueAsNewAtHistoryLength;
}

export class CallSession {
  private readonly ledger: EventLedger;
  private readonly channel: DocumentChannel;
  private nextSequence: number;
  /** Where the flow resumes after continue-as-new. */
  readonly resumeFrom?: FlowCheckpoint;

  constructor(private readonly input: CallSessionInput) {
    const carried = input.carried;
    this.channel = new DocumentChannel(input.documentOps, {
      ended: () => this.ended,
      answered: () => Boolean(this.state.answeredAt),
      waiting: (key) => this.ledger.waiting(key),
      sendRedirect: (named) => this.redirect(named),
    });
    const info = workflowInfo();
    this.ledger = EventLedger.forRun(input, info.workflowId, new Date(info.startTime).toISOString(), {
      reportsDigitsInResult: this.channel.reportsDigitsInResult,
    });
    this.nextSequence = carried?.nextSequence ?? 1;
    this.resumeFrom = carried?.checkpoint;
  }

  get state(): CallState {
    return this.ledger.state;
  }
  get workflowId(): string {
    return this.state.workflowId;
  }
  get provider(): CallState['provider'] {
    return this.state.provider;
  }
  get ended(): boolean {
    return this.ledger.ended;
  }
  /** Arguments the routing table gave this flow. */
  get args(): NonNullable<CallSessionInput['flowArgs']> {
    return this.input.flowArgs ?? {};
  }

  // ---------------------------------------------------------------------------------------------
  // Messages (handler side). Never throw: a throwing signal handler fails the workflow task.

  onEvent(event: CallEvent): void {
    const { effects, error } = this.ledger.receive(event);
    if (error) log.warn('call event could not be applied', { error });
    this.perform(effects);
  }

  /**
   * A document carrier asks what to do next (the `nextDocument` update): the events it carried go to the
   * ledger first, then the channel answers. Not `async`: the update resolves exactly when the channel does.
   */
  nextDocument(request: DocumentRequest): Promise<DocumentReply> {
    for (const event of request.events) this.onEvent(event);
    return this.channel.nextDocument(request);
  }

  /** Tells Temporal what the ledger changed: search attributes (commands, in order) and the UI summary. */
  private perform(effects: readonly LedgerEffect[]): void {
    for (const effect of effects) {
      switch (effect.kind) {
        case 'statusChanged':
          upsertSearchAttributes([{ key: CallStatusKey, value: effect.status }]);
          break;
        case 'queueJoined':
          upsertSearchAttributes([{ key: CallQueueKey, value: effect.queue }]);
          break;
        case 'detailsChanged':
          this.publishDetails();
          break;
      }
    }
  }

  private setStatus(status: CallStatus): void {
    this.perform(this.ledger.setStatus(status));
  }

  private markEnded(cause: EndCause): void {
    this.perform(this.ledger.markEnded(cause));
  }

  private addLeg(leg: LegState): void {
    this.perform(this.ledger.addLeg(leg));
  }

  /**
   * The operation a stop, pause or resume acts on: the newest operation of those kinds on the primary leg,
   * named by its command key (SignalWire's `control_id`). Only one sent as a REST command has that id; a
   * document step runs under the carrier's own id, so none is named then and the carrier adapter decides.
   */
  private targetOf(ops: readonly string[]): { target?: string } {
    const record = [...this.state.operations]
      .reverse()
      .find((o) => ops.includes(o.op) && o.callId === this.state.callId);
    if (!record || this.channel.carries(record.op)) return {};
    return { target: commandKey(this.workflowId, record.seq) };
  }

  /** The live one-paragraph summary the Temporal UI shows on the workflow page (needs a running worker). */
  private publishDetails(): void {
    setCurrentDetails(this.ledger.summary());
  }

  // ---------------------------------------------------------------------------------------------
  // Operations (flow side).

  private requirePrimary(operation: string): string {
    if (this.ended) throw new CallEnded(this.state.endCause ?? 'unknown', operation);
    if (!this.state.callId) throw new Error(`${operation}: the call has not been placed yet`);
    return this.state.callId;
  }

  private begin(op: string, callId: string): { seq: number; key: string } {
    const seq = this.nextSequence++;
    this.state.currentOperation = op;
    this.state.operations = [...this.state.operations, { seq, op, callId, startedAt: new Date().toISOString() }].slice(
      -STATE_LIMITS.operations,
    );
    this.publishDetails();
    return { seq, key: commandKey(this.workflowId, seq) };
  }

  private finish(seq: number, outcome: string): void {
    const record = this.state.operations.find((o) => o.seq === seq);
    if (record) {
      record.endedAt = new Date().toISOString();
      record.outcome = outcome;
    }
    if (this.state.operations.at(-1)?.seq === seq) this.state.currentOperation = undefined;
  }

  /**
   * Runs an activity while watching the call: if the call ends first, the operation fails with `CallEnded`
   * at once (the carrier would refuse the command anyway). Carrier failures become the flow's errors.
   */
  private async activity<T>(
    op: string,
    start: () => Promise<T>,
    opts: { endedIsSuccess?: boolean } = {},
  ): Promise<T | undefined> {
    let settled = false;
    let value: T | undefined;
    let error: unknown;
    start().then(
      (v) => {
        value = v;
        settled = true;
      },
      (e) => {
        error = e;
        settled = true;
      },
    );
    await condition(() => settled || this.ended);
    if (!settled) {
      if (opts.endedIsSuccess) return undefined;
      throw new CallEnded(this.state.endCause ?? 'unknown', op);
    }
    if (error !== undefined) {
      const type = failureType(error);
      if (type === ErrorType.CallGone) {
        this.markEnded('gone');
        if (opts.endedIsSuccess) return undefined;
        throw new CallEnded(this.state.endCause ?? 'gone', op);
      }
      if (type === ErrorType.Unsupported) throw new Unsupported(this.provider, op);
      // An ActivityFailure: the flow sees the carrier's refusal as it is.
      throw error as Error;
    }
    return value;
  }

  /**
   * Sends one command and, when `terminal` is given, waits for the first of those events on the leg.
   * Resolves with the terminal event, or `undefined` if none came within `timeoutMs` and the carrier says
   * the call is still up (webhooks can be lost; the flow decides what a missing outcome means).
   */
  private async command(
    body: CallCommandBody,
    opts: {
      callId?: string;
      terminal?: readonly CallEventKind[];
      timeoutMs?: number;
      /** Keep waiting this long after a hangup (a recording is saved after the caller hangs up). */
      afterHangupMs?: number;
    } = {},
  ): Promise<CallEvent | undefined> {
    const callId = opts.callId ?? this.requirePrimary(body.op);
    if (this.ended) throw new CallEnded(this.state.endCause ?? 'unknown', body.op);
    const { seq, key } = this.begin(body.op, callId);
    const waiter: PendingOperation | undefined = opts.terminal
      ? { seq, key, op: body.op, callId, kinds: opts.terminal }
      : undefined;
    if (this.channel.carries(body.op)) return this.documentCommand(body, { ...opts, callId, seq, key });
    // Registered before the command goes out: its webhook can arrive before the activity completes.
    if (waiter) this.ledger.pending.push(waiter);
    try {
      await this.activity(body.op, () =>
        activitiesFor(body.op).sendCallCommand({
          ...body,
          provider: this.provider,
          callId,
          commandKey: key,
          ownerWorkflowId: this.workflowId,
        }),
      );
      if (!waiter) {
        this.finish(seq, 'sent');
        return undefined;
      }
      const event = await this.awaitTerminal(waiter, opts.timeoutMs ?? 120_000, opts.afterHangupMs);
      this.finish(seq, event ? event.kind : 'no outcome (timed out)');
      return event;
    } catch (err) {
      this.finish(seq, (err as Error).name ?? 'failed');
      throw err;
    } finally {
      if (waiter) this.ledger.pending.splice(this.ledger.pending.indexOf(waiter), 1);
    }
  }

  /**
   * Document carriers: the command waits in the channel's outbox for the carrier's next fetch (or a
   * redirect makes the carrier fetch now); it is done on its terminal event, when the carrier hands its step
   * back, or, for a step that reports nothing, once its document was delivered.
   */
  private async documentCommand(
    body: CallCommandBody,
    opts: {
      callId: string;
      seq: number;
      key: string;
      terminal?: readonly CallEventKind[];
      timeoutMs?: number;
      afterHangupMs?: number;
    },
  ): Promise<CallEvent | undefined> {
    const { callId, seq, key } = opts;
    const waiter: PendingOperation = { seq, key, op: body.op, callId, kinds: opts.terminal ?? [] };
    this.ledger.pending.push(waiter);
    const redirect = this.channel.post({
      ...body,
      callId,
      commandKey: key,
      ownerWorkflowId: this.workflowId,
    } as CallCommand);
    try {
      if (redirect) await redirect;
      const event = await this.awaitTerminal(waiter, opts.timeoutMs ?? 120_000, opts.afterHangupMs);
      this.finish(seq, event ? event.kind : waiter.handedBack || waiter.delivered ? 'done' : 'no outcome (timed out)');
      return event;
    } catch (err) {
      this.finish(seq, (err as Error).name ?? 'failed');
      throw err;
    } finally {
      this.ledger.pending.splice(this.ledger.pending.indexOf(waiter), 1);
      this.channel.withdraw(key);
    }
  }

  /** Makes a document carrier fetch the call's next document now (the channel's `sendRedirect`). */
  private async redirect(named: (redirectKey: string) => void): Promise<void> {
    const callId = this.requirePrimary('redirect');
    const { seq, key } = this.begin('redirect', callId);
    named(key);
    await this.activity('redirect', () =>
      activitiesFor('redirect').sendCallCommand({
        op: 'redirect',
        provider: this.provider,
        callId,
        commandKey: key,
        ownerWorkflowId: this.workflowId,
      }),
    );
    this.finish(seq, 'sent');
  }

  private async awaitTerminal(
    waiter: PendingOperation,
    timeoutMs: number,
    afterHangupMs?: number,
  ): Promise<CallEvent | undefined> {
    const onPrimary = waiter.callId === this.state.callId;
    const interrupted = () => onPrimary && this.ended;
    // A document step that reports no event of its own is done when handed back, or once delivered.
    const stepDone = () => waiter.handedBack === true || (waiter.kinds.length === 0 && waiter.delivered === true);
    const arrived = await condition(() => waiter.event !== undefined || stepDone() || interrupted(), timeoutMs, {
      summary: `${waiter.op} #${waiter.seq}: waiting for ${waiter.kinds.join(' | ') || 'the carrier'}`,
    });
    if (waiter.event && onPrimary && endedByHangup(waiter.event)) {
      // The operation says the caller hung up; the hangup webhook itself may still be on its way.
      if (!(await condition(() => this.ended, '10 seconds', { summary: 'waiting for the hangup webhook' })))
        this.markEnded('unknown');
      throw new CallEnded(this.state.endCause ?? 'unknown', waiter.op);
    }
    if (waiter.event) return waiter.event;
    if (stepDone()) return undefined;
    if (arrived && interrupted()) {
      if (
        afterHangupMs &&
        (await condition(() => waiter.event !== undefined, afterHangupMs, {
          summary: `${waiter.op}: waiting for its result after the hangup`,
        }))
      ) {
        return waiter.event;
      }
      throw new CallEnded(this.state.endCause ?? 'unknown', waiter.op);
    }
    // No terminal event in time: ask the carrier whether the leg still exists.
    const status = await this.activity('reconcile', () =>
      activitiesFor('reconcile').fetchCallStatus({ provider: this.provider, callId: waiter.callId }),
    );
    if (status && !status.alive) {
      if (onPrimary) {
        this.markEnded('gone');
        throw new CallEnded('gone', waiter.op);
      }
      return undefined;
    }
    log.warn('operation had no outcome; call still up', { op: waiter.op, seq: waiter.seq });
    return undefined;
  }
  /** Answers an inbound call; resolves once the carrier reports it answered. */
  async answer(): Promise<void> {
    if (this.state.answeredAt && !this.ended) return;
    const event = await this.command({ op: 'answer' }, { terminal: ['call.answered'], timeoutMs: 30_000 });
    if (!event && !this.ended && !this.state.answeredAt) {
      // A document carrier handed the answer step back without a separate answered event.
      this.state.answeredAt = new Date().toISOString();
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
   * carrier dials and bridges in one step, so an answered leg is already bridged to the caller.
   */
  async dial(options: DialOptions): Promise<DialResult> {
    this.requirePrimary('dial');
    if (this.channel.dialBridges) {
      const event = await this.command(
        {
          op: 'connect',
          to: options.to,
          from: options.from ?? this.state.to,
          timeoutSeconds: options.timeoutSeconds ?? 30,
        },
        { terminal: ['bridged', 'unbridged'], timeoutMs: ((options.timeoutSeconds ?? 30) + 30) * 1000 },
      );
      if (event?.kind === 'bridged') return { answered: true, callId: event.otherCallId ?? '' };
      const agent = this.state.legs.find((l) => l.role === 'agent' && l.status === 'ended');
      return { answered: false, callId: agent?.callId ?? '', endCause: agent?.endCause ?? 'no-answer' };
    }
    const { seq, key } = this.begin('dial', '');
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
    await this.command({ op: 'bridge', otherCallId }, { terminal: ['bridged'], timeoutMs: 30_000 });
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

  /** Puts the caller in the carrier's named queue; resolves when the carrier confirms. */
  async enqueue(queue: string, options: { maxWaitSeconds?: number } = {}): Promise<void> {
    await this.command({ op: 'enqueue', queue, ...options }, { terminal: ['queue.joined'], timeoutMs: 30_000 });
  }

  async leaveQueue(): Promise<void> {
    await this.command({ op: 'leaveQueue' }, { terminal: ['queue.left'], timeoutMs: 30_000 });
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
    const bridged = this.state.status === 'bridged' && this.channel.bridgeEndReturnsCaller;
    const over = () => this.ended || (bridged && this.state.status !== 'bridged');
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
    this.channel.drain();
    await condition(allHandlersFinished);
    const { state, seenEventIds, pendingEvents } = this.ledger.carried();
    await continueAsNew<(input: CallSessionInput) => Promise<unknown>>({
      ...this.input,
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
  // Session lifecycle, used by the workflow function.

  /**
   * Places a leg owned by this session and registers the wait for it to answer or end. The caller removes
   * the returned waiter from `pending` when done.
   */
  private async placeLeg(
    role: 'primary' | 'agent',
    seq: number,
    key: string,
    options: DialOptions & { from: string },
  ): Promise<{ callId: string; waiter: PendingOperation }> {
    const placed = await this.activity('dial', () =>
      activitiesFor('dial').placeCall({
        ...options,
        provider: this.provider,
        commandKey: key,
        ownerWorkflowId: this.workflowId,
      }),
    );
    const callId = placed!.callId;
    const waiter: PendingOperation = { seq, key, op: 'dial', callId, kinds: ['call.answered', 'call.ended'] };
    this.ledger.pending.push(waiter);
    this.addLeg({ callId, role, to: options.to, from: options.from, status: 'ringing' });
    return { callId, waiter };
  }

  /** Places the primary leg of an outbound call and waits for it to answer or fail. */
  async placePrimary(options: DialOptions): Promise<DialResult> {
    const { seq, key } = this.begin('dial', '');
    const { callId, waiter } = await this.placeLeg('primary', seq, key, {
      ...options,
      from: options.from ?? this.state.from,
    });
    try {
      if (!this.ended) this.setStatus(this.state.answeredAt ? this.state.status : 'ringing');
      await condition(() => waiter.event !== undefined || this.ended, ((options.timeoutSeconds ?? 30) + 60) * 1000, {
        summary: `dialing ${options.to}`,
      });
      const event = waiter.event;
      if (event?.kind === 'call.answered' && !this.ended) {
        this.finish(seq, 'answered');
        return { answered: true, callId };
      }
      if (!this.ended) this.markEnded(event?.kind === 'call.ended' ? event.cause : 'no-answer');
      this.finish(seq, `not answered (${this.state.endCause})`);
      return { answered: false, callId, endCause: this.state.endCause };
    } finally {
      this.ledger.pending.splice(this.ledger.pending.indexOf(waiter), 1);
    }
  }

  /** After the flow: hang up if it did not, and give a running recording a moment to report back. */
  async close(): Promise<void> {
    if (!this.ended) await this.hangup();
    if (this.ledger.recordingInProgress)
      await condition(() => !this.ledger.recordingInProgress, 60_000, { summary: 'waiting for the recording' });
    this.state.currentOperation = undefined;
    this.publishDetails();
  }

  /** Marks the call failed for reasons outside the carrier (a flow bug); the call is hung up. */
  noteFlowError(err: unknown): void {
    const message = `flow failed: ${(err as Error)?.message ?? String(err)}`;
    this.ledger.noteError(message);
  }
}
