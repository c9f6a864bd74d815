import {
  CancellationScope,
  condition,
  isCancellation,
  log,
  patched,
  proxyActivities,
  setCurrentDetails,
  sleep,
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
  type CallEventKind,
  type CallSessionInput,
  type CallState,
  type CallStatus,
  type DialOptions,
  type PlaceCallRequest,
  type EndCause,
  type FlowCheckpoint,
  type LegState,
} from '../src/calls';
import type { CallActivities } from '../activities';
import { COMMAND_OPTIONS, PLACE_CALL_OPTIONS } from './activity-options';
import { DocumentChannel } from './document-channel';
import { EventLedger, endedByHangup, type LedgerEffect, type PendingOperation } from './event-ledger';
import { commandSummary, storySearchAttributes } from './timeline';

/**
 * The machinery under the flow API: carrier events in (the signal handler and the `nextDocument` update,
 * through the `EventLedger`), commands out (activities, or document steps through the `DocumentChannel`),
 * and the waits in between. `CallSession` builds the flow API on it. Deterministic, plain JSON state.
 */

export function activitiesFor(summary: string, options = COMMAND_OPTIONS): CallActivities {
  return proxyActivities<CallActivities>({ ...options, summary });
}

/** A timer that waits can check among their other conditions: one history event when armed, one when it fires. */
export interface DueTimer {
  /** The timer has fired. */
  readonly due: boolean;
  /** Not needed any more: a timer still running is cancelled (one event), a fired one costs nothing. */
  cancel(): void;
}

export function dueTimer(ms: number): DueTimer {
  const scope = new CancellationScope();
  const timer = { due: false, cancel: () => scope.cancel() };
  void scope
    .run(() => sleep(ms))
    .then(
      () => {
        timer.due = true;
      },
      (err: unknown) => {
        // Cancelled: not needed any more, or the flow itself was (a redirect).
        if (!isCancellation(err)) log.warn('timer failed', { error: (err as Error)?.message });
      },
    );
  return timer;
}

/** Whether this run should continue-as-new at its next checkpoint. */
export function shouldContinueAsNew(input: CallSessionInput): boolean {
  const info = workflowInfo();
  if (info.continueAsNewSuggested) return true;
  return input.continueAsNewAtHistoryLength !== undefined && info.historyLength >= input.continueAsNewAtHistoryLength;
}

/**
 * Liveness: how long the watchdog lets a call stay quiet before asking the carrier whether it is still up,
 * doubling after each quiet probe up to the maximum. A call whose hang-up webhook was lost is therefore
 * ended at most `maxQuietMs` after it ended (plus one status request); a chatty call is never probed.
 */
export const LIVENESS = { firstQuietMs: 15_000, maxQuietMs: 60_000 } as const;

export class SessionEngine {
  protected readonly ledger: EventLedger;
  protected readonly channel: DocumentChannel;
  protected nextSequence: number;
  /**
   * Sessions started since the watchdog exist run one timer for the whole call instead of one per
   * operation; older histories replay the per-operation timers they recorded.
   */
  protected readonly watchdog: boolean;
  /** Sessions started since the call's story exist tell time to answer, agent, outcome and talk time as search attributes. */
  private readonly story: boolean;
  /** Carrier events and document fetches received: the watchdog probes only a call that went quiet. */
  private heard = 0;
  /** Set once the flow is done: the watchdog stops. */
  private closing = false;
  /** Where the flow resumes after continue-as-new. */
  readonly resumeFrom?: FlowCheckpoint;

  constructor(protected readonly input: CallSessionInput) {
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
      tellsWhoHungUp: this.channel.tellsWhoHungUp,
    });
    this.nextSequence = carried?.nextSequence ?? 1;
    this.watchdog = patched('session-watchdog');
    this.story = patched('call-story');
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
    this.heard++;
    const { effects, error } = this.ledger.receive(event);
    if (error) log.warn('call event could not be applied', { error });
    this.perform(effects);
  }

  /**
   * A document carrier asks what to do next (the `nextDocument` update): the events it carried go to the
   * ledger first, then the channel answers. Not `async`: the update resolves exactly when the channel does.
   */
  nextDocument(request: DocumentRequest): Promise<DocumentReply> {
    this.heard++; // a fetch, even one with no events, shows the call is up
    for (const event of request.events) this.onEvent(event);
    return this.channel.nextDocument(request);
  }

  /** Tells Temporal what the ledger changed: search attributes (commands, in order) and the UI summary. */
  protected perform(effects: readonly LedgerEffect[]): void {
    for (const effect of effects) {
      switch (effect.kind) {
        case 'statusChanged':
          // The story's attributes ride along: a status change is when they change (answer, bridge, end).
          upsertSearchAttributes([
            { key: CallStatusKey, value: effect.status },
            ...(this.story ? storySearchAttributes(this.state) : []),
          ]);
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

  protected setStatus(status: CallStatus): void {
    this.perform(this.ledger.setStatus(status));
  }

  protected markEnded(cause: EndCause): void {
    this.perform(this.ledger.markEnded(cause));
  }

  protected addLeg(leg: LegState): void {
    this.perform(this.ledger.addLeg(leg));
  }

  /**
   * The operation a stop, pause or resume acts on: the newest operation of those kinds on the primary leg,
   * named by its command key (SignalWire's `control_id`). Only one sent as a REST command has that id; a
   * document step runs under the carrier's own id, so none is named then and the carrier adapter decides.
   */
  protected targetOf(ops: readonly string[]): { target?: string } {
    const record = [...this.state.operations]
      .reverse()
      .find((o) => ops.includes(o.op) && o.callId === this.state.callId);
    if (!record || this.channel.carries(record.op)) return {};
    return { target: commandKey(this.workflowId, record.seq) };
  }

  /** The session is done: how the call went, in the state, the current details and (one upsert) the search attributes. */
  conclude(flowFailed: boolean): void {
    this.ledger.conclude(flowFailed);
    if (this.story) upsertSearchAttributes(storySearchAttributes(this.state));
    this.publishDetails();
  }

  /** The live one-paragraph summary the Temporal UI shows on the workflow page (needs a running worker). */
  protected publishDetails(): void {
    setCurrentDetails(this.ledger.summary());
  }

  // ---------------------------------------------------------------------------------------------
  // Operations (flow side).

  protected requirePrimary(operation: string): string {
    if (this.ended) throw new CallEnded(this.state.endCause ?? 'unknown', operation);
    if (!this.state.callId) throw new Error(`${operation}: the call has not been placed yet`);
    return this.state.callId;
  }

  protected begin(op: string, callId: string): { seq: number; key: string } {
    const seq = this.nextSequence++;
    this.state.currentOperation = op;
    this.state.operations = [...this.state.operations, { seq, op, callId, startedAt: new Date().toISOString() }].slice(
      -STATE_LIMITS.operations,
    );
    this.publishDetails();
    return { seq, key: commandKey(this.workflowId, seq) };
  }

  protected finish(seq: number, outcome: string): void {
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
  protected async activity<T>(
    op: string,
    start: () => Promise<T>,
    opts: {
      endedIsSuccess?: boolean;
      /** The leg the activity acts on (a gone agent leg does not end the caller's session). */
      legCallId?: string;
    } = {},
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
      const otherLeg = opts.legCallId !== undefined && opts.legCallId !== this.state.callId;
      if (type === ErrorType.CallGone && otherLeg && patched('leg-gone-is-not-call-gone')) {
        // An agent's or consultant's leg has gone, not the caller: hanging it up is done; anything else fails
        // as the carrier refused it, and the caller's session goes on.
        if (op === 'hangup') return undefined;
        throw error as Error;
      }
      if (type === ErrorType.CallGone) {
        // The carrier refused the command because the call has ended; its hangup webhook, with the real cause
        // ("caller hung up"), is usually a moment behind (each leg's webhooks travel separately). Wait briefly
        // for it so the call's end is told as it happened; `gone` only if it does not come.
        if (!this.ended && patched('gone-awaits-hangup'))
          await condition(() => this.ended, '5 seconds', { summary: 'waiting for the hangup webhook' });
        if (!this.ended) this.markEnded('gone');
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
  protected async command(
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
    if (body.op === 'connect' || body.op === 'transfer')
      this.perform(this.ledger.noteDialing(body.to, body.op === 'connect' ? 'agent' : 'transfer'));
    const waiter: PendingOperation | undefined = opts.terminal
      ? { seq, key, op: body.op, callId, kinds: opts.terminal }
      : undefined;
    if (this.channel.carries(body.op)) return this.documentCommand(body, { ...opts, callId, seq, key });
    // Registered before the command goes out: its webhook can arrive before the activity completes.
    if (waiter) this.ledger.pending.push(waiter);
    try {
      try {
        await this.activity(
          body.op,
          () =>
            activitiesFor(commandSummary(body)).sendCallCommand({
              ...body,
              provider: this.provider,
              callId,
              commandKey: key,
              ownerWorkflowId: this.workflowId,
            }),
          { legCallId: callId },
        );
      } catch (err) {
        // The caller hung up before the command's activity reported back (a retry after a worker crash, say),
        // but the carrier may well have acted on its first attempt: a voicemail's recording is saved after the
        // hang-up. Wait for the result as if the activity had succeeded; with none, the call ended first.
        if (!(waiter && opts.afterHangupMs && err instanceof CallEnded && patched('result-after-hangup'))) throw err;
      }
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
  protected async documentCommand(
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
  protected async redirect(named: (redirectKey: string) => void): Promise<void> {
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

  protected async awaitTerminal(
    waiter: PendingOperation,
    timeoutMs: number,
    afterHangupMs?: number,
  ): Promise<CallEvent | undefined> {
    const onPrimary = waiter.callId === this.state.callId;
    const interrupted = () => onPrimary && this.ended;
    // A document step that reports no event of its own is done when handed back, or once delivered.
    const stepDone = () => waiter.handedBack === true || (waiter.kinds.length === 0 && waiter.delivered === true);
    const settledOrInterrupted = () => waiter.event !== undefined || stepDone() || interrupted();
    let arrived: boolean;
    if (this.watchdog) {
      // No timer of its own: the watchdog marks the operation overdue once its deadline has passed.
      waiter.deadline = Date.now() + timeoutMs;
      await condition(() => settledOrInterrupted() || waiter.overdue === true);
      arrived = settledOrInterrupted();
    } else {
      arrived = await condition(settledOrInterrupted, timeoutMs, {
        summary: `${waiter.op} #${waiter.seq}: waiting for ${waiter.kinds.join(' | ') || 'the carrier'}`,
      });
    }
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

  /**
   * Places a leg owned by this session and registers the wait for it to answer or end. The caller removes
   * the returned waiter from `pending` when done.
   */
  protected async placeLeg(
    role: 'primary' | 'agent' | 'supervisor',
    seq: number,
    key: string,
    options: DialOptions & Pick<PlaceCallRequest, 'from' | 'supervise' | 'joinRoom'>,
  ): Promise<{ callId: string; waiter: PendingOperation }> {
    this.perform(this.ledger.noteDialing(options.to, role));
    const placed = await this.activity('dial', () =>
      activitiesFor('dial', PLACE_CALL_OPTIONS).placeCall({
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

  /**
   * The session's one timer while the call lasts: every tick it marks operations past their deadline as
   * overdue (they then ask the carrier about their leg), and when the call has been quiet since the last
   * tick it asks the carrier whether the call is still up, so a lost hang-up webhook cannot leave the session
   * running. Started once per run by the workflow function; ends with the call, the flow or the run.
   */
  async watch(): Promise<void> {
    if (!this.watchdog) return;
    const { firstQuietMs, maxQuietMs } = this.input.liveness ?? LIVENESS;
    let quietMs = firstQuietMs;
    while (!this.ended && !this.closing) {
      const heardBefore = this.heard;
      if (
        await condition(() => this.ended || this.closing, quietMs, {
          summary: 'watchdog: deadlines, and is a quiet call still up?',
        })
      )
        return;
      const now = Date.now();
      for (const waiter of this.ledger.pending) {
        if (waiter.deadline !== undefined && waiter.deadline <= now) waiter.overdue = true;
      }
      if (this.heard !== heardBefore || !this.state.callId || this.ledger.pending.some((w) => w.overdue)) {
        quietMs = firstQuietMs;
        continue;
      }
      let status: { alive: boolean } | undefined;
      try {
        status = await this.activity(
          'liveness',
          () => activitiesFor('liveness').fetchCallStatus({ provider: this.provider, callId: this.state.callId! }),
          { endedIsSuccess: true },
        );
      } catch (err) {
        // The carrier did not answer (its retries ran out): ask again at the next tick.
        log.warn('liveness probe failed', { error: (err as Error)?.message });
      }
      if (status && !status.alive) {
        log.info('the carrier says the call is gone; ending the session', { callId: this.state.callId });
        this.markEnded('gone');
        return;
      }
      quietMs = Math.min(quietMs * 2, maxQuietMs);
    }
  }

  /** The flow is done, or the run continues as new: the watchdog stops at once. */
  protected stopWatching(): void {
    this.closing = true;
  }
}
