import { historyToJSON, type History } from '@temporalio/common/lib/proto-utils';

/**
 * What a workflow's reactions cost in history events: the history cut at each thing from outside that makes
 * the workflow act (a signal, an update, a timer firing), so a benchmark or a test can say "this reaction
 * wrote 10 events: the signal, a workflow task, the command's activity, a workflow task". Temporal's CPU
 * and the worker's grow with the events written, so this is the cost model's unit.
 *
 * The cut is exact when each reaction is over before the next trigger arrives (drive the workflow one event
 * at a time); triggers that overlap share their workflow tasks and split less cleanly.
 */

/** One history event in the JSON form the Temporal CLI and Web UI write (`historyToJSON`). */
export interface HistoryEventJson {
  eventType: string;
  workflowExecutionSignaledEventAttributes?: { signalName?: string; input?: { payloads?: PayloadJson[] } };
  workflowExecutionUpdateAcceptedEventAttributes?: { acceptedRequest?: { input?: { name?: string } } };
  [attributes: string]: unknown;
}
interface PayloadJson {
  data?: string;
}

export interface ReactionCost {
  /** What started the reaction: `signal action(speak)`, `signal callEvent(gather.ended)`, `update nextDocument`, `timer`; `start` for the events before the first trigger. */
  trigger: string;
  /** The event types written from the trigger up to the next trigger, in order (`Signaled`, `WorkflowTaskScheduled`, …). */
  events: string[];
}

/** The events of a history as fetched by a client (`handle.fetchHistory()`), or of one already in JSON form. */
export function historyEvents(history: History | { events: HistoryEventJson[] }): HistoryEventJson[] {
  const events = history.events ?? [];
  if (events.length > 0 && typeof events[0].eventType === 'string') return events as HistoryEventJson[];
  return (JSON.parse(historyToJSON(history as History)) as { events: HistoryEventJson[] }).events;
}

/**
 * The history cut into reactions. An update is accepted only when the workflow task that ran it completes,
 * so its reaction starts at that task's `WorkflowTaskScheduled`, before the `UpdateAccepted` event.
 */
export function reactionCosts(history: History | { events: HistoryEventJson[] }): ReactionCost[] {
  const events = historyEvents(history);
  const reactions: ReactionCost[] = [{ trigger: 'start', events: [] }];
  for (const event of events) {
    const current = reactions[reactions.length - 1];
    const type = shortType(event.eventType);
    const trigger = triggerOf(event, type);
    if (!trigger) {
      current.events.push(type);
      continue;
    }
    if (type === 'UpdateAccepted') {
      // Take the update's workflow task along from the reaction it was appended to.
      const taskStart = current.events.lastIndexOf('WorkflowTaskScheduled');
      const moved = taskStart > 0 ? current.events.splice(taskStart) : [];
      reactions.push({ trigger, events: [...moved, type] });
      continue;
    }
    reactions.push({ trigger, events: [type] });
  }
  return reactions.filter((r) => r.events.length > 0);
}

/** One line per reaction: `  10  signal action(speak): Signaled WorkflowTaskScheduled …`. */
export function formatReactionCosts(reactions: readonly ReactionCost[]): string {
  return reactions.map((r) => `${String(r.events.length).padStart(4)}  ${r.trigger}: ${r.events.join(' ')}`).join('\n');
}

/** `EVENT_TYPE_WORKFLOW_TASK_SCHEDULED` → `WorkflowTaskScheduled`; the execution's own events lose the prefix (`Signaled`). */
function shortType(eventType: string): string {
  return eventType
    .replace(/^EVENT_TYPE_/, '')
    .replace(/^WORKFLOW_EXECUTION_/, '')
    .toLowerCase()
    .replace(/(^|_)([a-z])/g, (_match, _sep: string, letter: string) => letter.toUpperCase());
}

function triggerOf(event: HistoryEventJson, type: string): string | undefined {
  switch (type) {
    case 'Signaled': {
      const attributes = event.workflowExecutionSignaledEventAttributes;
      const argument = describeArgument(attributes?.input?.payloads?.[0]);
      return `signal ${attributes?.signalName ?? '?'}${argument ? `(${argument})` : ''}`;
    }
    case 'UpdateAccepted':
      return `update ${event.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name ?? '?'}`;
    case 'TimerFired':
      return 'timer';
    default:
      return undefined;
  }
}

/** A signal's first argument in a word: a string as it is, an object by its `kind` (a carrier event). */
function describeArgument(payload: PayloadJson | undefined): string | undefined {
  if (!payload?.data) return undefined;
  try {
    const value = JSON.parse(Buffer.from(payload.data, 'base64').toString('utf8')) as unknown;
    if (typeof value === 'string') return value;
    const kind = (value as { kind?: unknown } | null)?.kind;
    return typeof kind === 'string' ? kind : undefined;
  } catch {
    return undefined;
  }
}
