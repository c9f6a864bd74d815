import { patched } from '@temporalio/workflow';
import {
  STATE_LIMITS,
  readControlId,
  sequenceOfCommandKey,
  type CallEvent,
  type CallEventKind,
  type CallEventOf,
  type CallSessionInput,
  type CallState,
  type CallStatus,
  type EndCause,
  type LegState,
} from '../src/calls';
import { appendToTimeline, endText, eventText, outcomeOf, secondsBetween, storyLines } from './timeline';

/**
 * The event ledger: what the carrier's events say about the call. It drops duplicates, keeps events for
 * legs not known yet, applies each event to `CallState`, and hands terminal events to the operations
 * waiting for them. It sends nothing and waits for nothing: what Temporal should hear about (search
 * attributes, the UI summary) comes back as effects, in order, for the session to act on. It imports no
 * workflow API, so it runs (and is unit tested) outside the workflow sandbox.
 */

/** An operation waiting for its terminal event. */
export interface PendingOperation {
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
  /** Document carriers: the delivery of the command that counts (see `deliveryControlId`); 0 when absent. */
  delivery?: number;
  /** Workflow time by which the terminal event should have come (sessions with the watchdog). */
  deadline?: number;
  /** Set by the watchdog once `deadline` has passed: the operation stops waiting and asks the carrier. */
  overdue?: boolean;
}

/** What the session must tell Temporal after the ledger changed the state, in the order it happened. */
export type LedgerEffect =
  /** `state.status` changed: upsert the `CallStatus` search attribute. */
  | { kind: 'statusChanged'; status: CallStatus }
  /** The caller joined a carrier queue: upsert the `CallQueue` search attribute. */
  | { kind: 'queueJoined'; queue: string }
  /** Something the UI summary shows changed: publish it again. */
  | { kind: 'detailsChanged' };

/** The ledger's part of what a session carries across continue-as-new (plain JSON). */
export interface CarriedLedger {
  state: CallState;
  seenEventIds: string[];
  /** Events for legs not known yet (`CallSessionInput['carried']['pendingEvents']`). */
  pendingEvents: CallEvent[];
}

/** How the carrier family reports events, where it matters to the state (`DocumentChannel` answers it). */
export interface EventReporting {
  /** A prompt's digits come only in its `gather.ended` (document carriers); otherwise each key is a `dtmf` too. */
  reportsDigitsInResult: boolean;
  /**
   * A hangup's source tells the far end from our own hangup (Telnyx `hangup_source`). jambonz reports a Live Call
   * Control hangup as the caller's, and SignalWire names no source.
   */
  tellsWhoHungUp?: boolean;
}

/** Unclaimed events kept at most: a stray leg's webhooks cannot grow the state. */
const UNCLAIMED_LIMIT = 50;

/** An operation's outcome that means the call is over (the carrier stopped it because of a hangup). */
export function endedByHangup(event: CallEvent): boolean {
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

export class EventLedger {
  readonly state: CallState;
  /** Operations waiting for their terminal event; the session adds and removes them. */
  readonly pending: PendingOperation[] = [];
  /** A recording was started and has not reported saved or failed yet (not carried: a new run starts none). */
  recordingInProgress = false;
  private readonly seenEventIds: string[];
  private readonly seen: Set<string>;
  /** Events for legs we do not know yet (a dialed leg's webhooks can beat the dial activity's result). */
  private unclaimed: CallEvent[];
  /** Where the newest dial or transfer goes: names the bridge when the carrier's event does not. */
  private dialTarget?: string;
  /** Transfers: the party the session is bridging the caller to now (Telnyx's `call.bridged` names no leg). */
  private transferParty?: { callId?: string; address?: string };

  constructor(
    carried: CarriedLedger,
    private readonly reporting: EventReporting,
  ) {
    this.state = carried.state;
    this.seenEventIds = [...carried.seenEventIds];
    this.seen = new Set(this.seenEventIds);
    this.unclaimed = carried.pendingEvents;
  }

  /** The ledger of this run: a new call's, or the one the previous run carried across continue-as-new. */
  static forRun(
    input: CallSessionInput,
    workflowId: string,
    startedAt: string,
    reporting: EventReporting,
  ): EventLedger {
    const carried = input.carried;
    if (carried) {
      const state = {
        ...carried.state,
        runs: carried.state.runs + 1,
        // Runs carried from before the timeline existed.
        timeline: carried.state.timeline ?? [],
        talkSeconds: carried.state.talkSeconds ?? 0,
      };
      return new EventLedger(
        { state, seenEventIds: carried.seenEventIds, pendingEvents: carried.pendingEvents as CallEvent[] },
        reporting,
      );
    }
    const state: CallState = {
      workflowId,
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
      startedAt,
      digits: '',
      recordings: [],
      lastEvents: [],
      operations: [],
      duplicatesIgnored: 0,
      eventErrors: [],
      runs: 1,
      timeline: input.direction === 'inbound' ? [{ at: 0, text: `call from ${input.from} to ${input.to}` }] : [],
      talkSeconds: 0,
    };
    return new EventLedger({ state, seenEventIds: [], pendingEvents: [] }, reporting);
  }

  get ended(): boolean {
    return this.state.status === 'ended';
  }

  /** The operation waiting under this command key, if any. */
  waiting(controlId: string): PendingOperation | undefined {
    const { commandKey } = readControlId(controlId);
    return this.pending.find((p) => p.key === commandKey);
  }

  /** What the next run needs to go on where this one stopped. */
  carried(): CarriedLedger {
    return { state: this.state, seenEventIds: this.seenEventIds, pendingEvents: this.unclaimed };
  }

  /**
   * Takes one event from the carrier. Never throws (a throwing signal handler fails the workflow task): an
   * event that cannot be applied is noted in `state.eventErrors` and returned as `error` for the log.
   */
  receive(event: CallEvent): { effects: LedgerEffect[]; error?: string } {
    const effects: LedgerEffect[] = [];
    try {
      if (this.seen.has(event.eventId)) {
        this.state.duplicatesIgnored++;
        return { effects };
      }
      this.remember(event.eventId);
      this.apply(event, effects);
      return { effects };
    } catch (err) {
      const error = `${event?.kind ?? 'event'} ${event?.eventId ?? ''}: ${(err as Error)?.message ?? String(err)}`;
      this.noteError(error);
      return { effects, error };
    }
  }

  /** Adds a leg and applies the events that arrived for it before it was known. */
  addLeg(leg: LegState): LedgerEffect[] {
    const effects: LedgerEffect[] = [];
    this.state.legs = [...this.state.legs, leg];
    if (leg.role === 'primary') this.state.callId = leg.callId;
    const claimed = this.unclaimed.filter((e) => e.callId === leg.callId);
    this.unclaimed = this.unclaimed.filter((e) => e.callId !== leg.callId);
    for (const event of claimed) this.apply(event, effects);
    return effects;
  }

  setStatus(status: CallStatus): LedgerEffect[] {
    if (this.state.status === status) return [];
    this.state.status = status;
    return [{ kind: 'statusChanged', status }];
  }

  /**
   * Ends the call in the state (once): the primary leg, the queue, the bridge, the status. `endedBy`: the
   * session's own hangup, the other party, or (the default) the session acting on the carrier's word.
   */
  markEnded(cause: EndCause, at?: string, endedBy: CallState['endedBy'] = 'carrier'): LedgerEffect[] {
    if (this.ended) return [];
    this.state.endCause = cause;
    this.state.endedAt = at ?? new Date().toISOString();
    this.state.endedBy = endedBy;
    this.closeBridge(this.state.endedAt);
    this.note(endText(this.state), this.state.endedAt);
    const primary = this.state.legs.find((l) => l.role === 'primary');
    if (primary && primary.status !== 'ended') {
      primary.status = 'ended';
      primary.endCause = cause;
    }
    this.state.queue = undefined;
    return [...this.setStatus('ended'), { kind: 'detailsChanged' }];
  }

  /** The call was answered (once): when, and a line in the timeline. */
  noteAnswered(at: string): void {
    if (this.state.answeredAt) return;
    this.state.answeredAt = at;
    this.note('answered', at);
  }

  /** The session dials a leg or transfers the caller: a line in the timeline, and the name of the bridge to come. */
  noteDialing(to: string, role: LegState['role']): LedgerEffect[] {
    this.dialTarget = to;
    this.note(
      role === 'transfer' ? `transferring to ${to}` : role === 'agent' ? `dialing agent ${to}` : `dialing ${to}`,
    );
    return [{ kind: 'detailsChanged' }];
  }

  // Transfers (live controls `transfer`, `warm-transfer`).

  /**
   * A transfer moves the caller off its bridge (before a Telnyx `transfer` or `bridge`, which report the new
   * bridge without ending the old one): the old party's talk time ends here, and the next `bridged` event
   * names `party`.
   */
  leaveBridgeFor(party: { callId?: string; address?: string } = {}): void {
    this.closeBridge(new Date().toISOString());
    // The caller leaves the room the bridge stood for too: its `conference.left` is not the new bridge's end.
    if (this.state.bridge?.room) delete this.state.bridge.room;
    this.transferParty = party;
  }

  /**
   * The caller's bridge moves into the conference `room` (for a supervisor): the end of the dial that carried it
   * is no longer the bridge's end; leaving the room is (`conference.left`).
   */
  moveBridgeInto(room: string | undefined): void {
    if (!this.state.bridge?.since) return;
    const { room: _moved, ...bridge } = this.state.bridge;
    this.state.bridge = room ? { ...bridge, room } : bridge;
  }

  /** A transfer that did not happen: the caller is still bridged to `party`. */
  restoreBridge(party: { callId?: string; address?: string }): void {
    this.transferParty = undefined;
    if (!this.state.bridge?.since) this.state.bridge = { ...party, since: new Date().toISOString() };
  }

  /** The session is done: how the call went (`state.outcome`). */
  conclude(flowFailed: boolean): void {
    this.state.outcome = outcomeOf(this.state, flowFailed);
  }

  /** A line in the timeline, at seconds since the call started (never before the line above it). */
  note(text: string, at = new Date().toISOString()): void {
    const seconds = Math.max(secondsBetween(this.state.startedAt, at), this.state.timeline.at(-1)?.at ?? 0);
    this.state.timeline = appendToTimeline(this.state.timeline, { at: seconds, text });
  }

  /** The state in one short paragraph (markdown), for the Temporal UI's workflow page. */
  summary(): string {
    const s = this.state;
    const lines = [
      `**${s.status}** ${s.direction} ${s.provider} call ${s.from} → ${s.to}, flow \`${s.flow}\``,
      s.currentOperation ? `now: ${s.currentOperation}` : undefined,
      s.digits ? `digits: ${s.digits}` : undefined,
      s.queue ? `queue: ${s.queue.name}${s.queue.position ? ` (position ${s.queue.position})` : ''}` : undefined,
      s.recordings.length ? `recordings: ${s.recordings.map((r) => r.url ?? '(no url)').join(', ')}` : undefined,
      s.endCause ? `ended: ${s.endCause}` : undefined,
      ...storyLines(s),
    ];
    return lines.filter(Boolean).join('  \n');
  }

  noteError(message: string): void {
    this.state.eventErrors = [...this.state.eventErrors, message].slice(-STATE_LIMITS.eventErrors);
  }

  private remember(eventId: string): void {
    this.seenEventIds.push(eventId);
    this.seen.add(eventId);
    if (this.seenEventIds.length > STATE_LIMITS.seenEventIds) this.seen.delete(this.seenEventIds.shift()!);
  }

  private apply(raw: CallEvent, effects: LedgerEffect[]): void {
    const event = this.resolveLeg(raw);
    const leg = this.state.legs.find((l) => l.callId === event.callId);
    if (!leg) {
      // Not ours yet: keep it until `addLeg` claims it.
      this.unclaimed = [...this.unclaimed, event].slice(-UNCLAIMED_LIMIT);
      return;
    }
    if (raw.legId && !leg.legId) leg.legId = raw.legId;
    this.state.lastEvents = [
      ...this.state.lastEvents,
      { kind: event.kind, eventId: event.eventId, callId: event.callId, occurredAt: event.occurredAt },
    ].slice(-STATE_LIMITS.lastEvents);
    const primary = leg.role === 'primary';
    const setStatus = (status: CallStatus) => effects.push(...this.setStatus(status));
    const text = eventText(event, leg, this.reporting);

    switch (event.kind) {
      case 'call.answered':
        if (leg.status !== 'ended') leg.status = 'answered';
        if (primary && !this.ended) {
          this.noteAnswered(event.occurredAt);
          setStatus('answered');
        }
        break;
      case 'call.ended':
        leg.status = 'ended';
        leg.endCause = event.cause;
        if (primary) {
          let ours = this.pending.some((p) => p.callId === event.callId && (p.op === 'hangup' || p.op === 'reject'));
          // Our hangup may be on its way when the far end hangs up first (the carrier then refuses ours as gone):
          // the carrier's hangup source tells whose end it was.
          const farEnd = this.state.direction === 'inbound' ? 'caller' : 'callee';
          if (ours && this.reporting.tellsWhoHungUp && event.source === farEnd && patched('far-end-hangup-is-not-ours'))
            ours = false;
          effects.push(...this.markEnded(event.cause, event.occurredAt, ours ? 'session' : 'remote'));
        }
        break;
      case 'dtmf':
        if (primary) this.state.digits += event.digit;
        break;
      case 'gather.ended':
        if (primary && this.reporting.reportsDigitsInResult) this.state.digits += event.digits;
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
        if (primary && !this.ended) {
          this.openBridge(event);
          setStatus('bridged');
        }
        break;
      case 'unbridged':
        // The dial that a move into a conference killed: the bridge goes on in the room (see `moveBridgeInto`).
        if (primary && this.state.bridge?.room) break;
        if (leg.status === 'bridged') leg.status = 'answered';
        if (primary) this.closeBridge(event.occurredAt, true);
        if (primary && this.state.status === 'bridged') setStatus('answered');
        break;
      case 'conference.left':
        // The room a bridge was moved into ended (the agent left it): the caller is back with its flow.
        if (primary && this.state.bridge?.room) {
          this.closeBridge(event.occurredAt, true);
          delete this.state.bridge.room;
          if (this.state.status === 'bridged') setStatus('answered');
        }
        break;
      case 'queue.joined':
        if (primary && !this.ended) {
          this.state.queue = { name: event.queue, position: event.position };
          effects.push({ kind: 'queueJoined', queue: event.queue });
          setStatus('queued');
        }
        break;
      case 'queue.left':
        if (primary) {
          this.state.queue = undefined;
          if (this.state.status === 'queued') setStatus('answered');
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
    if (text) this.note(text, event.occurredAt);
    this.settle(event);
    effects.push({ kind: 'detailsChanged' });
  }

  /** The caller is bridged: to which leg (the event's, the newest leg we placed, or the newest dial's target), since when. */
  private openBridge(event: CallEventOf<'bridged'>): void {
    if (this.state.bridge?.since) return;
    const expected = this.transferParty;
    this.transferParty = undefined;
    const other =
      this.state.legs.find((l) => l.callId === (event.otherCallId ?? expected?.callId)) ??
      (expected ? undefined : [...this.state.legs].reverse().find((l) => l.role !== 'primary' && l.status !== 'ended'));
    const address = other?.to ?? expected?.address ?? this.dialTarget;
    const callId = event.otherCallId ?? other?.callId;
    this.state.bridge = { ...(callId ? { callId } : {}), ...(address ? { address } : {}), since: event.occurredAt };
    this.note(address ? `bridged to ${address}` : 'bridged', event.occurredAt);
  }

  /** The bridge ended (or the call did): its seconds count as talk time. */
  private closeBridge(at: string, tell = false): void {
    const bridge = this.state.bridge;
    if (!bridge?.since) return;
    const seconds = secondsBetween(bridge.since, at);
    this.state.talkSeconds += seconds;
    const closed = { ...bridge };
    delete closed.since;
    this.state.bridge = closed;
    if (tell) this.note(`bridge ended after ${seconds} s`, at);
  }

  /** Telnyx names the leg of `call.recording.saved` only by `call_leg_id`. */
  private resolveLeg(event: CallEvent): CallEvent {
    if (event.callId || !event.legId) return event;
    const leg = this.state.legs.find((l) => l.legId === event.legId);
    return { ...event, callId: leg?.callId ?? this.state.callId ?? '' };
  }

  /** Hands a terminal event to the operation waiting for it. */
  private settle(event: CallEvent): void {
    const candidates = this.pending.filter(
      (p) => !p.event && p.callId === event.callId && p.kinds.includes(event.kind),
    );
    if (candidates.length === 0) return;
    const reported = event.controlId === undefined ? undefined : readControlId(event.controlId);
    const exact = candidates.find((p) => p.key === reported?.commandKey);
    // The report of a copy a redirect cut short: the copy delivered again is the one that counts.
    if (exact && reported && reported.delivery !== (exact.delivery ?? 0)) return;
    if (!exact) {
      // An event tagged with an older operation of ours that is no longer waiting is a late echo of it.
      const seq = sequenceOfCommandKey(event.controlId);
      const ours = event.controlId?.startsWith(`${this.state.workflowId}#`);
      if (seq !== undefined && seq < candidates[0].seq && ours) return;
    }
    (exact ?? candidates[0]).event = event;
  }
}
