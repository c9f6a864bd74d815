import type { SearchAttributeUpdatePair } from '@temporalio/common';
import {
  CallAgentKey,
  CallAnswerSecondsKey,
  CallOutcomeKey,
  CallOutcomeValue,
  CallTalkSecondsKey,
  STATE_LIMITS,
  type CallCommandBody,
  type CallEvent,
  type CallState,
  type LegState,
  type TimelineEntry,
} from '../src/calls';

/**
 * The call's story for people: the timeline in plain words ("answered", "pressed 1", "bridged to
 * +15550002000", "caller hung up"), how the call went, and the search attributes the Temporal UI lists and
 * filters by. Words only: the `EventLedger` decides when something happened and keeps the numbers. Plain
 * code, no workflow API, so it is unit tested outside the sandbox.
 */

/** Seconds from one ISO time to another, never negative (carrier clocks and workflow time differ a little). */
export function secondsBetween(from: string, to: string): number {
  return Math.max(0, Math.round((Date.parse(to) - Date.parse(from)) / 1000));
}

/** `01:12`, or `1:02:03` past an hour. */
export function clock(seconds: number): string {
  const two = (n: number) => String(n).padStart(2, '0');
  const [h, m, s] = [Math.floor(seconds / 3600), Math.floor(seconds / 60) % 60, seconds % 60];
  return h > 0 ? `${h}:${two(m)}:${two(s)}` : `${two(m)}:${two(s)}`;
}

/**
 * The timeline with one more entry. A long call (a digit a second for hours) keeps its first
 * `timelineHead` entries and its newest `timelineTail`; one entry in between counts those left out.
 */
export function appendToTimeline(timeline: readonly TimelineEntry[], entry: TimelineEntry): TimelineEntry[] {
  const { timelineHead: head, timelineTail: tail } = STATE_LIMITS;
  const next = [...timeline, entry];
  const gap = next[head]?.omitted !== undefined ? next[head] : undefined;
  if (next.length - head - (gap ? 1 : 0) <= tail) return next;
  // The oldest entry after the head joins the gap.
  const dropAt = gap ? head + 1 : head;
  const omitted = (gap?.omitted ?? 0) + 1;
  const merged: TimelineEntry = { at: gap?.at ?? next[dropAt].at, text: `… ${omitted} more …`, omitted };
  return [...next.slice(0, head), merged, ...next.slice(dropAt + 1)];
}

/** "agent +15550002000": a leg other than the caller, by its role and address. */
function legName(leg: Pick<LegState, 'role' | 'to'>): string {
  return [leg.role === 'primary' ? 'caller' : leg.role, leg.to].filter(Boolean).join(' ');
}

/**
 * The words for a carrier event, or `undefined` when it is no part of the story (playback started, a
 * duplicate answer). Called before the ledger applies the event, so `leg` is as it was.
 * The call's own answer and end are told by `EventLedger.noteAnswered`/`markEnded` (`endText`).
 */
export function eventText(
  event: CallEvent,
  leg: LegState,
  reporting: { reportsDigitsInResult: boolean },
): string | undefined {
  const primary = leg.role === 'primary';
  if (!primary) {
    if (event.kind === 'call.answered' && leg.status === 'ringing') return `${legName(leg)} answered`;
    if (event.kind === 'call.ended' && leg.status !== 'ended')
      return leg.status === 'ringing' ? `${legName(leg)} did not answer (${event.cause})` : `${legName(leg)} left`;
    return undefined;
  }
  switch (event.kind) {
    case 'dtmf':
      return `pressed ${event.digit}`;
    case 'gather.ended':
      if (event.speech) return `said "${event.speech.text}"`;
      return reporting.reportsDigitsInResult && event.digits ? `pressed ${event.digits}` : undefined;
    case 'queue.joined':
      return `joined queue ${event.queue}${event.position ? ` at position ${event.position}` : ''}`;
    case 'queue.left':
      return `left queue ${event.queue} (${event.reason})`;
    case 'recording.saved':
      return `recording saved${event.durationMs ? ` (${Math.round(event.durationMs / 1000)} s)` : ''}`;
    case 'recording.failed':
      return `recording failed (${event.reason})`;
    case 'machine.detection.ended':
      return `answering machine detection: ${event.result}`;
    case 'fax.ended':
      return event.success ? `fax done, ${event.pages} pages` : `fax failed (${event.resultText ?? 'no reason given'})`;
    default:
      return undefined;
  }
}

/** How the call ended, in words, from `state.endedBy`, `endCause` and whether it was answered. */
export function endText(state: CallState): string {
  const cause = state.endCause ?? 'unknown';
  const answered = state.answeredAt !== undefined;
  if (state.endedBy === 'session') {
    if (answered) return 'the flow hung up';
    return state.direction === 'inbound'
      ? `the flow rejected the call (${cause})`
      : 'the flow hung up before an answer';
  }
  if (!answered && state.direction === 'outbound') return `not answered (${cause})`;
  if (state.endedBy === 'carrier')
    return cause === 'gone' ? 'the carrier says the call is gone' : `call ended (${cause})`;
  if (cause === 'normal' || cause === 'cancelled')
    return `${state.direction === 'inbound' ? 'caller' : 'callee'} hung up`;
  return `call ended (${cause})`;
}

/** How the call went: the first rule of `CallOutcomeValue` that fits. */
export function outcomeOf(state: CallState, flowFailed: boolean): CallOutcomeValue {
  if (flowFailed) return CallOutcomeValue.Failed;
  if (state.bridge) return CallOutcomeValue.Bridged;
  if (state.recordings.length > 0) return CallOutcomeValue.Voicemail;
  if (state.fax?.result === 'success') return CallOutcomeValue.Fax;
  if (!state.answeredAt) {
    if (state.direction === 'outbound') return CallOutcomeValue.NoAnswer;
    return state.endedBy === 'session' ? CallOutcomeValue.Rejected : CallOutcomeValue.Abandoned;
  }
  return state.endedBy === 'session' ? CallOutcomeValue.Completed : CallOutcomeValue.Abandoned;
}

/**
 * The story's search attributes known so far: time to answer once answered, the agent once bridged, the
 * outcome and talk time once the session is done. The session adds them to the upserts it makes anyway
 * (a status change) and to one upsert at the end, never one per event.
 */
export function storySearchAttributes(state: CallState): SearchAttributeUpdatePair[] {
  const pairs: SearchAttributeUpdatePair[] = [];
  if (state.answeredAt)
    pairs.push({ key: CallAnswerSecondsKey, value: secondsBetween(state.startedAt, state.answeredAt) });
  if (state.bridge?.address) pairs.push({ key: CallAgentKey, value: state.bridge.address });
  if (state.outcome) {
    pairs.push({ key: CallOutcomeKey, value: state.outcome });
    pairs.push({ key: CallTalkSecondsKey, value: state.talkSeconds });
  }
  return pairs;
}

/** The story as markdown lines for the Temporal UI's current details: numbers first, then the timeline. */
export function storyLines(state: CallState): string[] {
  const facts = [
    state.outcome ? `outcome: **${state.outcome}**` : undefined,
    state.answeredAt ? `answered after ${secondsBetween(state.startedAt, state.answeredAt)} s` : undefined,
    state.bridge?.since ? `bridged to ${state.bridge.address ?? 'another leg'}` : undefined,
    state.bridge && !state.bridge.since
      ? `talked ${state.talkSeconds} s with ${state.bridge.address ?? 'another leg'}`
      : undefined,
  ].filter(Boolean);
  return [
    ...(facts.length ? [facts.join(' · ')] : []),
    ...state.timeline.map((entry) => `\`${clock(entry.at)}\` ${entry.text}`),
  ];
}

/** A command as the Temporal UI's event history names its activity: `say "Thank you for calling…"`, not just `say`. */
export function commandSummary(body: CallCommandBody): string {
  const quoted = (text: string) => `"${text.length > 48 ? `${text.slice(0, 47)}…` : text}"`;
  switch (body.op) {
    case 'say':
      return `say ${quoted(body.text)}`;
    case 'play':
      return `play ${body.url}`;
    case 'gather':
      if (!body.prompt) return 'gather';
      return `gather after ${'say' in body.prompt ? quoted(body.prompt.say) : body.prompt.play}`;
    case 'connect':
    case 'transfer':
      return `${body.op} ${body.to}`;
    case 'sendDtmf':
      return `sendDtmf ${body.digits}`;
    case 'enqueue':
      return `enqueue ${body.queue}`;
    default:
      return body.op;
  }
}
