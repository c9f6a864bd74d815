import type { Client } from '@temporalio/client';
import { request } from 'undici';
import type { CallOutcome, Provider } from '../src/calls';

/**
 * The chaos harness's verdicts, from outside the service: what each carrier simulator recorded (calls,
 * commands, webhooks with their timestamps) and what Temporal says about each session. Shared by
 * `bench/chaos.ts` and the small deterministic version in `test/integration/chaos-small.test.ts`.
 */

/** The demo callers' scripts; each implies one flow result. */
export type ScriptName = 'agent' | 'voicemail' | 'hangup';

export const CHAOS_SCRIPTS: Record<
  ScriptName,
  { presses?: string[]; hangupAfterMs?: number; voicemail?: { talkMs: number }; hangupDuringPrompt?: number }
> = {
  // A minute on the line from the answer, as the demo's Telnyx caller: long enough to be bridged through the
  // injected faults (every command refused once, a worker killed every 10 s) and then talk.
  agent: { presses: ['1'], hangupAfterMs: 60_000 },
  voicemail: { presses: ['2'], voicemail: { talkMs: 3_000 } },
  hangup: { hangupDuringPrompt: 0 },
};

/** What each script's session must answer with. */
export const EXPECTED_RESULT: Record<ScriptName, RegExp> = {
  agent: /^pressed 1, bridged to agent /,
  voicemail: /^pressed 2, voicemail saved at /,
  hangup: /^call ended \(.+\) during gather$/,
};

export interface PlacedCall {
  carrier: Provider;
  script: ScriptName;
  /** The carrier's id of the inbound leg. */
  callId: string;
  workflowId: string;
}

/** The fields of the three simulators' records the verdicts read (each simulator has more). */
interface SimRecord {
  outcome: string;
  hangupSource?: string;
  endedBy?: string;
  callTerminationBy?: string;
  answered?: boolean;
  parentCallSid?: string;
  bridgedWith?: string;
  direction: string;
  state?: string;
  ended?: boolean;
}

interface SimCommand {
  at: string;
  status: number;
  duplicate?: boolean;
  action?: string;
  command?: string;
  commandId?: string;
  controlId?: string;
  callControlId?: string;
  callId?: string;
  callSid?: string;
  body: unknown;
}

interface SimWebhook {
  eventType?: string;
  type?: string;
  kind?: string;
  callControlId?: string;
  callId?: string;
  callSid?: string;
  status: string;
  duplicate: boolean;
  lastAttemptAt?: string;
  deliveredAt?: string;
  answeredAt?: string;
  reordered?: boolean;
  dropped?: boolean;
  notRetried?: boolean;
  attempts?: number;
  /** The last attempt's HTTP status (Telnyx, SignalWire; jambonz's `httpStatus`). */
  lastStatusCode?: number;
  httpStatus?: number;
}

/**
 * A webhook the gateway tier refused at least once (an error status, a refused or dropped connection, no answer),
 * whether or not the carrier's retry later got through. Duplicates the simulator sent on purpose are not counted.
 */
export function refusedAtLeastOnce(w: SimWebhook): boolean {
  if (w.duplicate || w.dropped) return false;
  const status = w.httpStatus ?? w.lastStatusCode;
  return w.status === 'failed' || (w.attempts ?? 1) > 1 || (status !== undefined && status >= 300);
}

export interface CarrierLogs {
  calls: Map<string, SimRecord & { id: string }>;
  commands: SimCommand[];
  webhooks: SimWebhook[];
}

const ID_FIELD: Record<Provider, 'callControlId' | 'callId' | 'callSid'> = {
  telnyx: 'callControlId',
  signalwire: 'callId',
  jambonz: 'callSid',
};

async function getJson<T>(url: string): Promise<T> {
  const res = await request(url);
  const text = await res.body.text();
  if (res.statusCode >= 300) throw new Error(`${url}: HTTP ${res.statusCode} ${text}`);
  return JSON.parse(text) as T;
}

/** A simulator's three logs, from its `/_sim` control API. */
export async function fetchCarrierLogs(carrier: Provider, simulatorUrl: string): Promise<CarrierLogs> {
  const [calls, commands, webhooks] = await Promise.all([
    getJson<Array<SimRecord & Record<string, string>>>(`${simulatorUrl}/_sim/calls`),
    getJson<SimCommand[]>(`${simulatorUrl}/_sim/commands`),
    getJson<SimWebhook[]>(`${simulatorUrl}/_sim/webhooks`),
  ]);
  const field = ID_FIELD[carrier];
  return { calls: new Map(calls.map((c) => [c[field], { ...c, id: c[field] }])), commands, webhooks };
}

/** Whether the caller ended the call as its script says (not the service, the carrier or a give-up). */
function endedByCaller(carrier: Provider, record: SimRecord): boolean {
  if (/gave up|no answer/.test(record.outcome)) return false;
  if (carrier === 'telnyx') return record.hangupSource === 'caller';
  if (carrier === 'signalwire') return record.endedBy === 'remote';
  return record.callTerminationBy === 'caller' && record.answered === true;
}

export interface SessionFacts {
  /** undefined: Temporal has no such workflow. */
  status?: string;
  result?: CallOutcome;
}

/** What Temporal knows of a session: its status and, once completed, its result. */
export async function sessionFacts(client: Client, workflowId: string): Promise<SessionFacts> {
  try {
    const handle = client.workflow.getHandle(workflowId);
    const { status } = await handle.describe();
    if (status.name !== 'COMPLETED') return { status: status.name };
    return { status: status.name, result: (await handle.result()) as CallOutcome };
  } catch (err) {
    if ((err as Error).name === 'WorkflowNotFoundError') return {};
    throw err;
  }
}

export interface CallVerdict {
  call: PlacedCall;
  lost: boolean;
  dropped: boolean;
  wrong: boolean;
  /** A wrong or dropped call a named injected fault explains (a lost or not-retried delivery of the call). */
  explainedBy?: string;
  stuck: boolean;
  duplicates: string[];
  flowResult?: string;
  simOutcome?: string;
}

/** Each webhook of the call that an injected loss or no-retry touched, named. */
function faultsOf(carrier: Provider, logs: CarrierLogs, callId: string): string[] {
  const field = ID_FIELD[carrier];
  return logs.webhooks
    .filter((w) => w[field] === callId && (w.dropped || w.notRetried))
    .map((w) => `${w.dropped ? 'lost' : 'not retried'} ${w.eventType ?? w.type}`);
}

/** The side effects the carrier executed twice for this call (its leg's commands, its dials). */
function duplicatesOf(carrier: Provider, logs: CarrierLogs, call: PlacedCall): string[] {
  const field = ID_FIELD[carrier];
  const found: string[] = [];
  const executed = logs.commands.filter((c) => c[field] === call.callId && c.status < 300 && !c.duplicate);
  const seen = new Set<string>();
  for (const c of executed) {
    // Telnyx and SignalWire commands carry an id; jambonz Live Call Control has none, so the same body twice.
    const id = c.commandId ?? c.controlId ?? (carrier === 'jambonz' ? JSON.stringify(c.body) : undefined);
    if (id === undefined) continue;
    const key = `${c.action ?? c.command} ${id}`;
    if (seen.has(key)) found.push(`executed twice: ${key}`);
    seen.add(key);
  }
  // A second agent dial for one caller.
  const dials =
    carrier === 'telnyx'
      ? logs.commands.filter(
          (c) =>
            c.action === 'dial' && c.status < 300 && !c.duplicate && c.commandId?.startsWith(`${call.workflowId}#`),
        ).length
      : [...logs.calls.values()].filter(
          (r) =>
            r.direction.startsWith('out') &&
            (carrier === 'jambonz' ? r.parentCallSid === call.callId : r.bridgedWith === call.callId),
        ).length;
  if (dials > 1) found.push(`${dials} agent dials`);
  return found;
}

export function judgeCall(call: PlacedCall, logs: CarrierLogs, facts: SessionFacts, running: Set<string>): CallVerdict {
  const record = logs.calls.get(call.callId);
  const lost = facts.status === undefined;
  const flowResult = facts.result?.flowResult;
  const explained = faultsOf(call.carrier, logs, call.callId);
  const ended = record !== undefined && (record.state === 'ended' || record.ended === true);
  const dropped = !lost && ended && !endedByCaller(call.carrier, record);
  const wrong = !lost && facts.status === 'COMPLETED' && !EXPECTED_RESULT[call.script].test(flowResult ?? '');
  return {
    call,
    lost,
    dropped,
    wrong,
    explainedBy: (wrong || dropped) && explained.length > 0 ? explained.join(', ') : undefined,
    stuck: running.has(call.workflowId),
    duplicates: duplicatesOf(call.carrier, logs, call),
    flowResult,
    simOutcome: record?.outcome,
  };
}

/** Carrier event → our next command, real ms: each webhook paired with the next command on the same leg. */
export function reactionTimes(carrier: Provider, logs: CarrierLogs): number[] {
  return reactionSamples(carrier, logs).map((r) => r.ms);
}

/** One reaction: when the carrier's event (or request) went out, and how long until the session acted on it. */
export interface Reaction {
  at: number;
  ms: number;
  /** The event reacted to and its leg, for the list of slow reactions. */
  what: string;
}

/** `reactionTimes` with when each event went out, to tell reactions inside a Temporal outage from the others. */
export function reactionSamples(carrier: Provider, logs: CarrierLogs): Reaction[] {
  const field = ID_FIELD[carrier];
  const times: Reaction[] = [];
  const byLeg = new Map<string, Array<{ at: number; kind: 'event' | 'command'; name: string }>>();
  const push = (leg: string | undefined, at: string | undefined, kind: 'event' | 'command', name: string) => {
    if (leg === undefined || at === undefined) return;
    const list = byLeg.get(leg) ?? [];
    list.push({ at: Date.parse(at), kind, name });
    byLeg.set(leg, list);
  };
  for (const w of logs.webhooks) {
    if (w.duplicate || w.dropped || (w.status !== 'delivered' && w.status !== 'answered')) continue;
    // Document carriers answer a fetch or verb hook with the next instructions: the round trip is the reaction.
    const answeredAt = w.deliveredAt ?? w.answeredAt;
    if (w.kind === 'swml-fetch' || (w.type !== undefined && w.type !== 'call:status')) {
      if (w.lastAttemptAt && answeredAt)
        times.push({
          at: Date.parse(w.lastAttemptAt),
          ms: Date.parse(answeredAt) - Date.parse(w.lastAttemptAt),
          what: `${carrier} ${w.kind === 'swml-fetch' ? 'fetch' : w.type} ${w[field]} (${w.attempts ?? '?'} attempts)`,
        });
      continue;
    }
    // A document carrier's status callback asks for no reaction (its next instructions come by fetch or hook),
    // so pairing it with the next REST command would time the flow's own pace (a 30 s talk, a voicemail).
    if (carrier !== 'telnyx') continue;
    // A start notice (call.speak.started, call.playback.started) asks for no reaction either: paired with the
    // next command it would time the prompt's own length.
    if ((w.type ?? w.eventType ?? '').endsWith('.started')) continue;
    push(w[field], w.lastAttemptAt, 'event', `${w.type ?? w.eventType} (${w.attempts ?? '?'} attempts)`);
  }
  for (const c of logs.commands)
    if (c.status < 300) push(c[field], c.at, 'command', c.action ?? c.command ?? 'command');
  for (const [leg, events] of byLeg) {
    events.sort((a, b) => a.at - b.at);
    for (let i = 0; i + 1 < events.length; i++)
      if (events[i].kind === 'event' && events[i + 1].kind === 'command')
        times.push({
          at: events[i].at,
          ms: events[i + 1].at - events[i].at,
          what: `${carrier} ${events[i].name} -> ${events[i + 1].name} ${leg}`,
        });
  }
  return times;
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** The workflow ids of every session still running (visibility). */
export async function runningSessions(client: Client): Promise<Set<string>> {
  const ids = new Set<string>();
  for await (const wf of client.workflow.list({ query: `ExecutionStatus = 'Running'` })) ids.add(wf.workflowId);
  return ids;
}
