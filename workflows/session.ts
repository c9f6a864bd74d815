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
  sequenceOfCommandKey,
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

/**
 * The flow API and the session's bookkeeping. One `CallSession` per workflow run: carrier events come in
 * through `onEvent` (the signal handler) and settle the operations a flow is waiting on; operations go out
 * as activities. Everything here is deterministic and plain JSON, so it replays and continues-as-new.
 */

function activitiesFor(summary: string): CallActivities {
  return proxyActivities<CallActivities>({ ...COMMAND_OPTIONS, summary });
}

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

/** An operation waiting for its terminal event. */
interface PendingOperation {
  seq: number;
  key: string;
  op: string;
  callId: string;
  kinds: readonly CallEventKind[];
  event?: CallEvent;
  /** Document carriers: the carrier finished this operation's document step (its hand-back arrived). */
  handedBack?: boolean;
  /** Document carriers: the document carrying this operation was handed to the carrier. */
  delivered?: boolean;
}

/** What a document carrier is doing with the call, as far as the session knows. */
type CarrierActivity =
  /** A fetch is waiting in `nextDocument` for the flow's next commands. */
  | 'fetching'
  /** Running a document we gave it; it will come back with a hand-back when done. */
  | 'running'
  /** Running a holding document: it comes back only when the hold runs out, unless redirected. */
  | 'holding';

/** An operation's outcome that means the call is over (the carrier stopped it because of a hangup). */
function endedByHangup(event: CallEvent): boolean {
  switch (event.kind) {
    case 'gather.ended':
      return event.reason === 'hangup';
    case 'playback.ended':
    case 'speak.ended':
      return event.status === 'hangup';
    default:
      return false;
  }
}

/** Whether this run should continue-as-new at its next checkpoint. */
function shouldContinueAsNew(input: CallSessionInput): boolean {
  const info = workflowInfo();
  if (info.continueAsNewSuggested) return true;
  return input.continueAsNewAtHistoryLength !== undefined && info.historyLength >= input.continueAsNewAtHistoryLength;
}

export class CallSession {
  readonly state: CallState;
  private readonly seenEventIds: string[];
  private readonly seen: Set<string>;
  private nextSequence: number;
  private readonly pending: PendingOperation[] = [];
  /** Events for legs we do not know yet (a dialed leg's webhooks can beat the dial activity's result). */
  private unclaimed: CallEvent[];
  private recordingInProgress = false;
  /** Document carriers: operations that travel in documents, and the commands waiting for the next fetch. */
  private readonly documentOps: ReadonlySet<string>;
  private outbox: CallCommand[] = [];
  private fetchesWaiting = 0;
  private carrierActivity: CarrierActivity = 'running';
  /** Set while continuing-as-new: waiting fetches answer at once (with a hold) so handlers can finish. */
  private draining = false;
  /**
   * The redirect sent and not yet answered by a fetch, and the commands handed to other fetches meanwhile.
   * A fetch already on its way (a hold running out) can take commands that the redirect then cuts short;
   * when the redirect's own fetch arrives, those are queued again.
   */
  private redirecting?: { key: string; deliveredSince: CallCommand[] };
  /** Where the flow resumes after continue-as-new. */
  readonly resumeFrom?: FlowCheckpoint;

  constructor(private readonly input: CallSessionInput) {
    const info = workflowInfo();
    const carried = input.carried;
    this.state = carried
      ? { ...carried.state, runs: carried.state.runs + 1 }
      : {
          workflowId: info.workflowId,
          provider: input.provider,
          direction: input.direction,
          flow: input.flow,
          from: input.from,
          to: input.to,
          status: input.direction === 'inbound' ? 'ringing' : 'dialing',
          callId: input.callId,
          legs: input.callId
            ? [{ callId: input.callId, role: 'primary', from: input.from, to: input.to, status: 'ringing' }]
            : [],
          startedAt: new Date(info.startTime).toISOString(),
          digits: '',
          recordings: [],
          lastEvents: [],
          operations: [],
          duplicatesIgnored: 0,
          eventErrors: [],
          runs: 1,
        };
    this.seenEventIds = carried ? [...carried.seenEventIds] : [];
    this.seen = new Set(this.seenEventIds);
    this.nextSequence = carried?.nextSequence ?? 1;
    this.unclaimed = (carried?.pendingEvents as CallEvent[] | undefined) ?? [];
    this.resumeFrom = carried?.checkpoint;
    this.documentOps = new Set(input.documentOps ?? []);
  }

  /** Whether the carrier takes this call's instructions as documents (SignalWire, jambonz). */
  get usesDocuments(): boolean {
    return this.documentOps.size > 0;
  }

  get workflowId(): string {
    return this.state.workflowId;
  }
  get provider(): CallState['provider'] {
    return this.state.provider;
  }
  get ended(): boolean {
    return this.state.status === 'ended';
  }
  /** Arguments the routing table gave this flow. */
  get args(): NonNullable<CallSessionInput['flowArgs']> {
    return this.input.flowArgs ?? {};
  }

  // ---------------------------------------------------------------------------------------------
  // Events (signal handler side). Never throws: a throwing signal handler fails the workflow task.

  onEvent(event: CallEvent): void {
    try {
      if (this.seen.has(event.eventId)) {
        this.state.duplicatesIgnored++;
        return;
      }
      this.remember(event.eventId);
      this.apply(event);
    } catch (err) {
      const message = `${event?.kind ?? 'event'} ${event?.eventId ?? ''}: ${(err as Error)?.message ?? String(err)}`;
      log.warn('call event could not be applied', { error: message });
      this.state.eventErrors = [...this.state.eventErrors, message].slice(-STATE_LIMITS.eventErrors);
    }
  }

  private remember(eventId: string): void {
    this.seenEventIds.push(eventId);
    this.seen.add(eventId);
    if (this.seenEventIds.length > STATE_LIMITS.seenEventIds) this.seen.delete(this.seenEventIds.shift()!);
  }

  private apply(raw: CallEvent): void {
    const event = this.resolveLeg(raw);
    const leg = this.state.legs.find((l) => l.callId === event.callId);
    if (!leg) {
      // Not ours yet: keep it until `addLeg` claims it (bounded, so a stray leg cannot grow state).
      this.unclaimed = [...this.unclaimed, event].slice(-50);
      return;
    }
    if (raw.legId && !leg.legId) leg.legId = raw.legId;
    this.state.lastEvents = [
      ...this.state.lastEvents,
      { kind: event.kind, eventId: event.eventId, callId: event.callId, occurredAt: event.occurredAt },
    ].slice(-STATE_LIMITS.lastEvents);
    const primary = leg.role === 'primary';

    switch (event.kind) {
      case 'call.answered':
        if (leg.status !== 'ended') leg.status = 'answered';
        if (primary && !this.ended) {
          this.state.answeredAt ??= event.occurredAt;
          this.setStatus('answered');
        }
        break;
      case 'call.ended':
        leg.status = 'ended';
        leg.endCause = event.cause;
        if (primary) this.markEnded(event.cause, event.occurredAt);
        break;
      case 'dtmf':
        if (primary) this.state.digits += event.digit;
        break;
      case 'gather.ended':
        // Document carriers report a prompt's digits only in its result; Telnyx reports each key as well.
        if (primary && this.usesDocuments) this.state.digits += event.digits;
        break;
      case 'recording.saved':
        this.recordingInProgress = false;
        this.state.recordings = [
          ...this.state.recordings,
          {
            seq: sequenceOfCommandKey(event.controlId),
            url: event.url,
            recordingId: event.recordingId,
            durationMs: event.durationMs,
            savedAt: event.occurredAt,
          },
        ];
        break;
      case 'recording.failed':
        this.recordingInProgress = false;
        break;
      case 'bridged':
        if (leg.status !== 'ended') leg.status = 'bridged';
        if (primary && !this.ended) this.setStatus('bridged');
        break;
      case 'unbridged':
        if (leg.status === 'bridged') leg.status = 'answered';
        if (primary && this.state.status === 'bridged') this.setStatus('answered');
        break;
      case 'queue.joined':
        if (primary && !this.ended) {
          this.state.queue = { name: event.queue, position: event.position };
          upsertSearchAttributes([{ key: CallQueueKey, value: event.queue }]);
          this.setStatus('queued');
        }
        break;
      case 'queue.left':
        if (primary) {
          this.state.queue = undefined;
          if (this.state.status === 'queued') this.setStatus('answered');
        }
        break;
      case 'fax.page':
        this.state.fax = { ...this.state.fax, pagesDone: Math.max(this.state.fax?.pagesDone ?? 0, event.page) };
        break;
      case 'fax.ended':
        this.state.fax = {
          pagesDone: event.pages,
          result: event.success ? 'success' : (event.resultText ?? 'failed'),
          ...(event.documentUrl ? { documentUrl: event.documentUrl } : {}),
        };
        break;
      default:
        break;
    }
    this.settle(event);
    this.publishDetails();
  }

  /** Telnyx names the leg of `call.recording.saved` only by `call_leg_id`. */
  private resolveLeg(event: CallEvent): CallEvent {
    if (event.callId || !event.legId) return event;
    const leg = this.state.legs.find((l) => l.legId === event.legId);
    return { ...event, callId: leg?.callId ?? this.state.callId ?? '' };
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
    if (!record || this.documentOps.has(record.op)) return {};
    return { target: commandKey(this.workflowId, record.seq) };
  }

  /** Hands a terminal event to the operation waiting for it. */
  private settle(event: CallEvent): void {
    const candidates = this.pending.filter(
      (p) => !p.event && p.callId === event.callId && p.kinds.includes(event.kind),
    );
    if (candidates.length === 0) return;
    const exact = candidates.find((p) => p.key === event.controlId);
    if (!exact) {
      // An event tagged with an older operation of ours that is no longer waiting is a late echo of it.
      const seq = sequenceOfCommandKey(event.controlId);
      if (seq !== undefined && seq < candidates[0].seq && event.controlId?.startsWith(`${this.workflowId}#`)) return;
    }
    (exact ?? candidates[0]).event = event;
  }

  /**
   * A document carrier asks what to do next (the `nextDocument` update). Applies the events it carried,
   * marks the step it handed back as done, then waits, up to `waitMs`, for the flow to queue commands.
   */
  async nextDocument(request: DocumentRequest): Promise<DocumentReply> {
    for (const event of request.events) this.onEvent(event);
    if (request.handedBack) {
      const step = this.pending.find((p) => p.key === request.handedBack);
      if (step) step.handedBack = true;
    }
    const redirect = this.redirecting;
    const answersRedirect =
      redirect !== undefined && (request.redirectedBy === redirect.key || request.handedBack === redirect.key);
    if (answersRedirect) {
      this.redirecting = undefined;
      const cutShort = redirect.deliveredSince.filter((command) => {
        const waiter = this.pending.find((p) => p.key === command.commandKey);
        return waiter !== undefined && !waiter.handedBack && waiter.event === undefined;
      });
      for (const command of cutShort) {
        const waiter = this.pending.find((p) => p.key === command.commandKey);
        if (waiter) waiter.delivered = false;
      }
      this.outbox = [...cutShort, ...this.outbox];
    }
    if (this.ended) return { kind: 'hangup' };
    // Workflow time: when this task started. A request that comes too late for its reply to be read is a hold.
    const budgetMs =
      request.answerBy === undefined ? request.waitMs : Math.min(request.waitMs, request.answerBy - Date.now());
    this.fetchesWaiting++;
    this.carrierActivity = 'fetching';
    try {
      if (budgetMs > 0) {
        await condition(() => this.outbox.length > 0 || this.ended || this.draining, budgetMs, {
          summary: 'carrier waits for the next document',
        });
      }
    } finally {
      this.fetchesWaiting--;
    }
    const unread = request.answerBy !== undefined && Date.now() >= request.answerBy;
    if (this.outbox.length > 0 && !unread) {
      const commands = this.outbox;
      this.outbox = [];
      for (const command of commands) {
        const waiter = this.pending.find((p) => p.key === command.commandKey);
        if (waiter) waiter.delivered = true;
      }
      // Not the redirect's own fetch: the redirect may cut these short (see `redirecting`).
      if (this.redirecting && !answersRedirect) this.redirecting.deliveredSince.push(...commands);
      this.carrierActivity = 'running';
      return { kind: 'commands', commands };
    }
    if (this.ended) return { kind: 'hangup' };
    if (this.fetchesWaiting === 0) this.carrierActivity = 'holding';
    return { kind: 'hold' };
  }

  private setStatus(status: CallStatus): void {
    if (this.state.status === status) return;
    this.state.status = status;
    upsertSearchAttributes([{ key: CallStatusKey, value: status }]);
  }

  private markEnded(cause: EndCause, at?: string): void {
    if (this.ended) return;
    this.state.endCause = cause;
    this.state.endedAt = at ?? new Date().toISOString();
    const primary = this.primaryLeg();
    if (primary && primary.status !== 'ended') {
      primary.status = 'ended';
      primary.endCause = cause;
    }
    this.state.queue = undefined;
    this.setStatus('ended');
    this.publishDetails();
  }

  private primaryLeg(): LegState | undefined {
    return this.state.legs.find((l) => l.role === 'primary');
  }

  private addLeg(leg: LegState): void {
    this.state.legs = [...this.state.legs, leg];
    if (leg.role === 'primary') this.state.callId = leg.callId;
    const claimed = this.unclaimed.filter((e) => e.callId === leg.callId);
    this.unclaimed = this.unclaimed.filter((e) => e.callId !== leg.callId);
    for (const event of claimed) this.apply(event);
  }

  /** The live one-paragraph summary the Temporal UI shows on the workflow page (needs a running worker). */
  private publishDetails(): void {
    const s = this.state;
    const lines = [
      `**${s.status}** ${s.direction} ${s.provider} call ${s.from} → ${s.to}, flow \`${s.flow}\``,
      s.currentOperation ? `now: ${s.currentOperation}` : undefined,
      s.digits ? `digits: ${s.digits}` : undefined,
      s.queue ? `queue: ${s.queue.name}${s.queue.position ? ` (position ${s.queue.position})` : ''}` : undefined,
      s.recordings.length ? `recordings: ${s.recordings.map((r) => r.url ?? '(no url)').join(', ')}` : undefined,
      s.endCause ? `ended: ${s.endCause}` : undefined,
    ];
    setCurrentDetails(lines.filter(Boolean).join('  \n'));
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
    if (this.documentOps.has(body.op)) return this.documentCommand(body, { ...opts, callId, seq, key });
    // Registered before the command goes out: its webhook can arrive before the activity completes.
    if (waiter) this.pending.push(waiter);
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
      if (waiter) this.pending.splice(this.pending.indexOf(waiter), 1);
    }
  }

  /**
   * Document carriers: the command waits in the outbox for the carrier's next fetch (or a redirect makes
   * the carrier fetch now); it is done on its terminal event, when the carrier hands its step back, or,
   * for a step that reports nothing, once its document was delivered.
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
    this.pending.push(waiter);
    this.outbox.push({ ...body, callId, commandKey: key, ownerWorkflowId: this.workflowId } as CallCommand);
    try {
      if (this.fetchesWaiting === 0 && this.carrierActivity === 'holding' && this.state.answeredAt) {
        // The carrier is holding the call: fetch now rather than when the hold runs out.
        await this.redirect();
      }
      const event = await this.awaitTerminal(waiter, opts.timeoutMs ?? 120_000, opts.afterHangupMs);
      this.finish(seq, event ? event.kind : waiter.handedBack || waiter.delivered ? 'done' : 'no outcome (timed out)');
      return event;
    } catch (err) {
      this.finish(seq, (err as Error).name ?? 'failed');
      throw err;
    } finally {
      this.pending.splice(this.pending.indexOf(waiter), 1);
      this.outbox = this.outbox.filter((c) => c.commandKey !== key);
    }
  }

  /** Makes a document carrier fetch the call's next document now. */
  private async redirect(): Promise<void> {
    const callId = this.requirePrimary('redirect');
    const { seq, key } = this.begin('redirect', callId);
    this.carrierActivity = 'running';
    this.redirecting = { key, deliveredSince: [] };
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
    // SignalWire reports speech as playback.
    await this.command(
      { op: 'say', text, ...options },
      { terminal: ['speak.ended', 'playback.ended'], timeoutMs: 60_000 + text.length * 150 },
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
    this.recordingInProgress = true;
    const event = await this.command(
      { op: 'recordStart', ...options },
      {
        terminal: ['recording.saved', 'recording.failed'],
        timeoutMs: ((options.maxSeconds ?? 120) + 60) * 1000,
        afterHangupMs: 60_000,
      },
    );
    this.recordingInProgress = false;
    if (event?.kind === 'recording.saved') return { saved: true, url: event.url, durationMs: event.durationMs };
    return { saved: false };
  }

  /** Starts recording in the background (the whole call, say); `stopRecording` or hang-up ends it. */
  async startRecording(options: RecordOptions = {}): Promise<void> {
    this.recordingInProgress = true;
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
    if (this.documentOps.has('connect')) {
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
        this.pending.splice(this.pending.indexOf(waiter), 1);
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
    // Document carriers bridge as part of `dial`.
    if (this.state.status === 'bridged' && this.documentOps.has('connect')) return;
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
    // On a document carrier the caller comes back to the flow when a bridge ends; on Telnyx both legs end.
    const bridged = this.state.status === 'bridged';
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
    if (this.ended || !shouldContinueAsNew(this.input) || this.pending.length > 0) return;
    this.draining = true;
    await condition(allHandlersFinished);
    await continueAsNew<(input: CallSessionInput) => Promise<unknown>>({
      ...this.input,
      callId: this.state.callId,
      carried: {
        state: this.state,
        seenEventIds: this.seenEventIds,
        nextSequence: this.nextSequence,
        checkpoint: { step, ...(data ? { data } : {}) },
        pendingEvents: this.unclaimed,
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
    this.pending.push(waiter);
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
      this.pending.splice(this.pending.indexOf(waiter), 1);
    }
  }

  /** After the flow: hang up if it did not, and give a running recording a moment to report back. */
  async close(): Promise<void> {
    if (!this.ended) await this.hangup();
    if (this.recordingInProgress)
      await condition(() => !this.recordingInProgress, 60_000, { summary: 'waiting for the recording' });
    this.state.currentOperation = undefined;
    this.publishDetails();
  }

  /** Marks the call failed for reasons outside the carrier (a flow bug); the call is hung up. */
  noteFlowError(err: unknown): void {
    const message = `flow failed: ${(err as Error)?.message ?? String(err)}`;
    this.state.eventErrors = [...this.state.eventErrors, message].slice(-STATE_LIMITS.eventErrors);
  }
}
