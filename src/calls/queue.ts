import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { CallOp } from './commands';
import type { Provider } from './ids';
import type { FlowArgs } from './session-input';

/**
 * Call queues (ACD): one entity workflow per queue, `callQueueWorkflow`, id `queue:<name>`. It holds the
 * waiting callers, the agents and the statistics as plain JSON and decides who is offered to whom; the
 * callers' sessions do the talking (hold music, announcements, dialing and bridging agents).
 *
 * The protocol, as a caller's session sees it:
 *
 * 1. **Join**: an activity runs update-with-start of `joinQueueUpdate` on `queue:<name>` (conflict policy
 *    USE_EXISTING; `queueWorkflowStart(config)` gives the start options), with a `requestId` that is stable
 *    across the activity's retries (a command key). The answer is `joined` (ticket, position, estimate) or
 *    `overflow` (the queue is full: go to its overflow target). The ticket is the `requestId`.
 * 2. **Wait**: the session plays hold music and, every `announcementIntervalSeconds`, reads its own position
 *    and wait estimate with `queuePositionQuery` (an activity queries the queue: no history is added to it).
 * 3. **Offer**: the queue signals the session `queueNoticeSignal` `{ kind: 'offer', offerId, agents, ... }`.
 *    The session dials the agent(s) (ring-all offers several: first to answer wins) for at most
 *    `ringTimeoutSeconds` and reports with `offerResultSignal` (signalled from workflow code with
 *    `getExternalWorkflowHandle(queueWorkflowId(name))`; a workflow cannot send an update):
 *    - `answered` (+ `agentId`): the agent is busy with this caller; the caller has left the line;
 *    - `no-answer` / `agent-failed` (+ `agentIds`): those agents are marked (repeated misses put them on
 *      break) and the caller is offered to another agent, still at the head of the line;
 *    - `caller-gone`: the caller hung up while an agent rang; the agent is free again, not marked.
 * 4. **After the agent call**: `agentCallEndedSignal`; the agent is in wrap-up, then available.
 * 5. **Abandon**: `leaveQueueSignal` (hang-up or a flow that gives up waiting).
 * 6. **Callback**: `requestCallbackSignal` with the number to call back. The caller may hang up; the entry
 *    keeps its place (same priority and arrival time). When it comes up and an agent is free, the queue
 *    reserves the agent and starts an outbound `callSessionWorkflow` (flow `callbackFlow`, id
 *    `call:<provider>:out:queue-<name>-cb<n>`) whose `flowArgs` carry the offer (`QueueCallbackArgs`); the
 *    session calls the customer, dials the agent and reports with the same signals. `customer-no-answer`
 *    (or no report before the offer's deadline) schedules another attempt after a growing delay, in place.
 *
 * The queue may also tell the session `overflow` (waited `maxWaitSeconds`), `removed` (by an operator) or
 * `offer-withdrawn` (an offer the queue gave up on). Reports carry `ticket` and `offerId`, so a late or
 * repeated report changes nothing. A session the queue cannot signal any more (gone) leaves the line.
 *
 * People running the queue use updates from a client: `agentUpdate` (sign in/out, available/break, skills),
 * `changePriorityUpdate`, `removeEntryUpdate`, `configureQueueUpdate`; and the `state` query.
 */

export const CALL_QUEUE_WORKFLOW = 'callQueueWorkflow';

/** Queue names: what a flow and the queues file use, and the tail of the workflow id. */
export function isQueueName(value: unknown): value is string {
  return typeof value === 'string' && /^[a-z0-9][a-z0-9_-]{0,62}$/i.test(value);
}

export function queueWorkflowId(name: string): string {
  return `queue:${name}`;
}

/** How the queue picks an agent for the caller at the head. */
export const QueueStrategy = {
  /** The eligible agent available the longest (skills must match). The default. */
  LongestIdle: 'longest-idle',
  /** Eligible agents in turn, in sign-in order, starting after the one offered last. */
  RoundRobin: 'round-robin',
  /** Every eligible available agent at once; the first to answer takes the call. */
  RingAll: 'ring-all',
} as const;
export type QueueStrategy = (typeof QueueStrategy)[keyof typeof QueueStrategy];
export const QUEUE_STRATEGIES: readonly QueueStrategy[] = Object.values(QueueStrategy);

/** Where a caller goes when the queue cannot keep them (full, or waited too long). */
export type OverflowTarget =
  | { kind: 'flow'; flow: string; args?: FlowArgs }
  | { kind: 'queue'; queue: string }
  | { kind: 'voicemail'; greeting?: string };

/** A queue's settings (the queues file, one entry per queue). Every field but the name has a default. */
export interface QueueConfig {
  /** Callers waiting at most; a caller joining a full queue is told to overflow. @default 50 */
  maxSize: number;
  /** Longest wait before the caller is told to overflow (callbacks excepted). @default 600 */
  maxWaitSeconds: number;
  /** Unset: an overflowing caller's flow decides alone. */
  overflow?: OverflowTarget;
  holdMusicUrl?: string;
  /** How often a waiting caller hears their position and estimated wait. @default 30 */
  announcementIntervalSeconds: number;
  /** Answered within this many seconds counts towards the service level. @default 20 */
  serviceLevelSeconds: number;
  /** The rolling window of the service level, ASA and AHT figures. @default 3600 */
  statsWindowSeconds: number;
  /** How long an offered agent rings before the offer is a miss. @default 15 */
  agentRingTimeoutSeconds: number;
  /** The agent's wrap-up after a call before the next offer. @default 10 */
  wrapUpSeconds: number;
  /** Consecutive misses that put an agent on break. @default 2 */
  maxConsecutiveMisses: number;
  strategy: QueueStrategy;
  /** The flow of the outbound session that calls a customer back. @default 'queueCallback' */
  callbackFlow: string;
  /** Attempts to reach a customer for a callback before it is given up. @default 3 */
  callbackMaxAttempts: number;
  /** Delay before the second callback attempt; it doubles for each later one. @default 120 */
  callbackRetryDelaySeconds: number;
  /** How long a callback offer (customer ring, then agent ring) may go unreported. @default 120 */
  callbackOfferTimeoutSeconds: number;
  /** Handle time assumed for wait estimates until the window has answered calls. @default 180 */
  defaultHandleSeconds: number;
}

export const QUEUE_DEFAULTS: QueueConfig = {
  maxSize: 50,
  maxWaitSeconds: 600,
  announcementIntervalSeconds: 30,
  serviceLevelSeconds: 20,
  statsWindowSeconds: 3600,
  agentRingTimeoutSeconds: 15,
  wrapUpSeconds: 10,
  maxConsecutiveMisses: 2,
  strategy: 'longest-idle',
  callbackFlow: 'queueCallback',
  callbackMaxAttempts: 3,
  callbackRetryDelaySeconds: 120,
  callbackOfferTimeoutSeconds: 120,
  defaultHandleSeconds: 180,
};

/** How much sooner than the offer's ring time a session stops ringing the agent, so its report arrives in time. */
export const AGENT_RING_MARGIN_SECONDS = 2;

/**
 * How long a session rings an offered agent: the offer's ring time less `AGENT_RING_MARGIN_SECONDS` (at
 * least 1 s). The queue itself waits the ring time plus its report grace before it expires an offer
 * unreported, so a session's `no-answer` always comes first.
 */
export function agentRingSeconds(offerRingTimeoutSeconds: number): number {
  return Math.max(1, offerRingTimeoutSeconds - AGENT_RING_MARGIN_SECONDS);
}

/** A partial config completed with the defaults. */
export function resolveQueueConfig(partial: Partial<QueueConfig> = {}): QueueConfig {
  const defined = Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined));
  return { ...QUEUE_DEFAULTS, ...defined };
}

/** The input of `callQueueWorkflow`. */
export interface CallQueueInput {
  name: string;
  config: Partial<QueueConfig>;
  /** Carried across continue-as-new: the queue's whole state (`QueueCoreState`, plain JSON). */
  carried?: unknown;
  /** Continue as new once history is this long, before Temporal's own suggestion. @default 2000 */
  continueAsNewAtHistoryLength?: number;
}

/** Start options for update-with-start and `start` (the client adds the task queue and conflict policy). */
export function queueWorkflowStart(
  name: string,
  config: Partial<QueueConfig>,
): { workflowId: string; args: [CallQueueInput]; staticSummary: string } {
  return {
    workflowId: queueWorkflowId(name),
    args: [{ name, config }],
    staticSummary: `Call queue ${name}`,
  };
}

/** Required skills: skill name → lowest level accepted. An agent qualifies with every skill at that level. */
export type SkillRequirements = Record<string, number>;

export type AgentState = 'offline' | 'available' | 'offered' | 'busy' | 'wrap-up' | 'break';

/** An agent as the queue keeps them. Times are epoch milliseconds. */
export interface QueueAgent {
  id: string;
  /** What the session dials: a phone number or SIP URI. */
  address: string;
  /** Skill name → level (higher is better). */
  skills: Record<string, number>;
  state: AgentState;
  /** When the agent entered `state` (for `available`: idle since, what longest-idle orders by). */
  since: number;
  callsHandled: number;
  consecutiveMisses: number;
  /** Why the agent is on break (`missed-offers` when the queue put them there). */
  breakReason?: string;
  /** While offered: the offer. */
  offer?: { ticket: string; offerId: string; idleSince: number };
  /** While busy: the call. */
  call?: { ticket: string; offerId: string; answeredAt: number };
  /** While in wrap-up: when it ends. */
  wrapUpUntil?: number;
  /** A state asked for while the agent was offered, busy or in wrap-up; applied when that ends. */
  pendingState?: 'offline' | 'break' | 'available';
}

/** Who is waiting: a caller on the line, or a callback that keeps the caller's place. */
export type QueueEntryKind = 'caller' | 'callback';

/** The number to call back and how. */
export interface CallbackRequest {
  provider: Provider;
  /** The customer's number. */
  to: string;
  /** Our number the callback comes from. */
  from: string;
  /**
   * The carrier's document steps, as the asking session has them (`CallSessionInput.documentOps`): the
   * callback session runs on the same carrier, and a queue workflow cannot look them up itself.
   */
  documentOps?: CallOp[];
}

/** One place in the line. Times are epoch milliseconds. */
export interface QueueEntry {
  ticket: string;
  kind: QueueEntryKind;
  /** The caller's session (for a callback: the session that asked; notices go to it while it waits). */
  sessionWorkflowId: string;
  /** Higher first; equal priorities in arrival order. */
  priority: number;
  arrivedAt: number;
  /** Arrival order, to break ties between equal times. */
  seq: number;
  skills: SkillRequirements;
  /** The offer out now. */
  offer?: { offerId: string; agentIds: string[]; offeredAt: number; deadline: number };
  /** Agents who missed this entry: others are preferred for its next offer. */
  missedBy: string[];
  /** Offers that expired with no report; the second such expiry drops the entry. */
  expiredOffers: number;
  callback?: CallbackRequest & {
    requestedAt: number;
    attempts: number;
    /** The next attempt waits until then (a backoff after a customer who did not answer). */
    notBefore?: number;
  };
}

export interface JoinQueueRequest {
  /** Stable across retries of the joining activity (a command key); it becomes the ticket. */
  requestId: string;
  sessionWorkflowId: string;
  /** @default 0 */
  priority?: number;
  skills?: SkillRequirements;
  /** Workflow time of the caller's arrival, when it joined earlier elsewhere (an overflow from another queue). */
  arrivedAt?: number;
}

export type JoinQueueResult =
  | {
      kind: 'joined';
      queue: string;
      ticket: string;
      /** 1 is the head of the line. */
      position: number;
      /** Unset while no agent with the caller's skills is signed in. */
      estimatedWaitSeconds?: number;
      holdMusicUrl?: string;
      announcementIntervalSeconds: number;
    }
  | { kind: 'overflow'; queue: string; reason: 'full'; target?: OverflowTarget }
  /** The ticket was already used and has left the line (a join retried after it ended). */
  | { kind: 'ended'; queue: string; ticket: string; outcome: string };

/** A caller's place, for announcements. */
export interface QueuePosition {
  queue: string;
  ticket: string;
  status: 'waiting' | 'offered' | 'callback-scheduled' | 'gone';
  position?: number;
  waitedSeconds?: number;
  estimatedWaitSeconds?: number;
}

export type OfferOutcome = 'answered' | 'no-answer' | 'agent-failed' | 'caller-gone' | 'customer-no-answer';

/** The session's report of an offer. */
export interface OfferResultReport {
  ticket: string;
  offerId: string;
  outcome: OfferOutcome;
  /** `answered`: the agent who took the call. */
  agentId?: string;
  /** `no-answer` / `agent-failed`: the agents who missed (default: every agent offered). */
  agentIds?: string[];
}

export interface AgentCallEndedReport {
  ticket: string;
  offerId: string;
  agentId: string;
  /** Who hung up, for the record. */
  endedBy?: 'agent' | 'caller' | 'flow';
}

export interface LeaveQueueReport {
  ticket: string;
  reason: 'abandoned' | 'hangup' | 'left';
}

export interface RequestCallbackReport {
  ticket: string;
  callback: CallbackRequest;
}

/** What the queue tells a caller's session. */
export type QueueNotice =
  | {
      kind: 'offer';
      queue: string;
      ticket: string;
      offerId: string;
      agents: Array<{ agentId: string; address: string }>;
      ringTimeoutSeconds: number;
    }
  | { kind: 'offer-withdrawn'; queue: string; ticket: string; offerId: string; reason: string }
  | { kind: 'overflow'; queue: string; ticket: string; reason: 'max-wait'; target?: OverflowTarget }
  | { kind: 'removed'; queue: string; ticket: string; reason: string };

/** The `flowArgs` a callback session starts with. */
export interface QueueCallbackArgs extends FlowArgs {
  queue: string;
  ticket: string;
  offerId: string;
  agentId: string;
  agentAddress: string;
  ringTimeoutSeconds: number;
  attempt: number;
}

export type AgentChange =
  | { op: 'sign-in'; agentId: string; address: string; skills?: Record<string, number> }
  | { op: 'sign-out'; agentId: string }
  | { op: 'set-state'; agentId: string; state: 'available' | 'break'; reason?: string }
  | { op: 'set-skills'; agentId: string; skills: Record<string, number> };

export interface ChangePriorityRequest {
  ticket: string;
  priority: number;
}

export interface RemoveEntryRequest {
  ticket: string;
  reason?: string;
}

/** The queue's figures. Averages in seconds; `window*` over the last `statsWindowSeconds`. */
export interface QueueStatistics {
  /** Callers who joined (callbacks included once, as callers). */
  offered: number;
  answered: number;
  abandoned: number;
  overflowed: number;
  removed: number;
  callbacksRequested: number;
  callbacksAnswered: number;
  callbacksFailed: number;
  /** Offers an agent did not answer. */
  missedOffers: number;
  /** Average speed of answer since the queue started. */
  averageSpeedOfAnswerSeconds?: number;
  /** Average handle time (answer to the agent call's end) since the queue started. */
  averageHandleSeconds?: number;
  windowSeconds: number;
  windowAnswered: number;
  windowAbandoned: number;
  windowAverageSpeedOfAnswerSeconds?: number;
  windowAverageHandleSeconds?: number;
  /**
   * Share (0–1) of the window's calls answered within `serviceLevelSeconds`, of those answered or abandoned
   * after it (a caller who hung up sooner is not held against it). Unset with no such call.
   */
  serviceLevel?: number;
  waiting: number;
  longestWaitSeconds: number;
}

/** One waiting entry as the `state` query shows it. */
export interface QueueEntryView {
  position: number;
  ticket: string;
  kind: QueueEntryKind;
  status: QueuePosition['status'];
  sessionWorkflowId: string;
  priority: number;
  skills: SkillRequirements;
  arrivedAt: string;
  waitedSeconds: number;
  estimatedWaitSeconds?: number;
  offeredTo?: string[];
  /** The offer out now, as the session's report must name it. */
  offerId?: string;
  callbackAttempts?: number;
}

export interface QueueView {
  name: string;
  config: QueueConfig;
  /** The time the figures are computed at. */
  at: string;
  waiting: QueueEntryView[];
  agents: QueueAgent[];
  stats: QueueStatistics;
  /** Runs of the workflow so far (continue-as-new starts the next). */
  runs: number;
  /** The last requests the queue could not apply (bounded). */
  errors: string[];
}

/** Workflow time is the time of the last workflow task; a reader passes its own clock for live figures. */
export interface QueueReadOptions {
  /** Epoch ms to compute waits and estimates at. @default the queue's workflow time */
  now?: number;
}

// Session → queue: signals, because the sender is workflow code (it cannot send updates) and they are cheap.
export const offerResultSignal = defineSignal<[OfferResultReport]>('queueOfferResult');
export const agentCallEndedSignal = defineSignal<[AgentCallEndedReport]>('queueAgentCallEnded');
export const leaveQueueSignal = defineSignal<[LeaveQueueReport]>('queueLeave');
export const requestCallbackSignal = defineSignal<[RequestCallbackReport]>('queueRequestCallback');

/** Queue → session. A session in a queue must handle it. */
export const queueNoticeSignal = defineSignal<[QueueNotice]>('queueNotice');

// Clients → queue: updates, because the caller needs an answer (a ticket, a refusal).
export const joinQueueUpdate = defineUpdate<JoinQueueResult, [JoinQueueRequest]>('queueJoin');
export const agentUpdate = defineUpdate<QueueAgent, [AgentChange]>('queueAgent');
export const changePriorityUpdate = defineUpdate<QueuePosition, [ChangePriorityRequest]>('queueChangePriority');
export const removeEntryUpdate = defineUpdate<QueuePosition, [RemoveEntryRequest]>('queueRemoveEntry');
export const configureQueueUpdate = defineUpdate<QueueConfig, [Partial<QueueConfig>]>('queueConfigure');

/** The whole queue: waiting callers with positions and estimates, agents, statistics. Adds no history. */
export const queueStateQuery = defineQuery<QueueView, [QueueReadOptions?]>('state');
/** One caller's position and estimate, for announcements. Adds no history. */
export const queuePositionQuery = defineQuery<QueuePosition, [{ ticket: string; now?: number }]>('queuePosition');

/** `ApplicationFailure.type` of an update the queue refuses (unknown agent, bad priority, ...). */
export const QUEUE_REQUEST_REJECTED = 'QueueRequestRejected';
