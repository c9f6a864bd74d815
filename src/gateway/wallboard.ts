import type { ServerResponse } from 'node:http';
import { WorkflowNotFoundError, type Client, type Connection } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
// Its types add `schema.hide`: the wallboard is a page, not part of the REST API's OpenAPI document.
import type {} from '@fastify/swagger';
import {
  CALL_SESSION_WORKFLOW,
  CallDirectionKey,
  CallFlowKey,
  CallFromKey,
  CallProviderKey,
  CallQueueKey,
  CallStatusKey,
  CallToKey,
  queueStateQuery,
  queueWorkflowId,
  resolveQueueConfig,
  type AgentState,
  type QueueConfig,
  type QueueView,
} from '../calls';
import { WALLBOARD_PAGE } from './wallboard-page';

/**
 * The wallboard: `GET /wallboard` is one self-contained page for a screen on the wall (live calls, and per
 * queue: waiting callers, longest wait, agents by state, service level), `GET /wallboard/events` the
 * server-sent events that keep it live. Both need a `read` key (auth.ts); a browser's EventSource cannot send
 * headers, so these two routes also take it as `?key=` (the page passes its own on).
 *
 * One poll of Temporal per interval, shared by every open wallboard, and none while nobody watches: a list
 * of the running call sessions (visibility, by their search attributes) and each configured queue's `state`
 * query. A snapshot is pushed only when it changed; it holds start and arrival times rather than ages, so the
 * page counts the seconds itself and an unchanged floor costs nothing but heartbeats.
 */

export interface WallboardOptions {
  client: Client;
  connection: Connection;
  queues: Record<string, Partial<QueueConfig>>;
  /** @default 1000 */
  pollIntervalMs?: number;
}

/** One running call session, as its search attributes describe it. */
export interface WallboardCall {
  workflowId: string;
  startedAt: string;
  status?: string;
  provider?: string;
  direction?: string;
  from?: string;
  to?: string;
  flow?: string;
  queue?: string;
}

export interface WallboardQueue {
  name: string;
  /** False while no caller or agent has used the queue (its workflow has not started). */
  started: boolean;
  /** Callers on the line now. */
  waiting: number;
  /** Callbacks keeping a caller's place. */
  callbacks: number;
  /** Arrival of the caller waiting longest (the page shows the wait growing). */
  longestWaitingSince?: string;
  agents: Array<{ id: string; state: AgentState; since: string }>;
  agentsByState: Partial<Record<AgentState, number>>;
  /** Share (0–1) answered within `serviceLevelSeconds` over the queue's statistics window. */
  serviceLevel?: number;
  serviceLevelSeconds: number;
  windowSeconds: number;
  windowAnswered: number;
  windowAbandoned: number;
  windowAverageSpeedOfAnswerSeconds?: number;
}

export interface WallboardSnapshot {
  calls: WallboardCall[];
  /** More sessions run than `calls` lists. */
  moreCalls: boolean;
  queues: WallboardQueue[];
}

/** A wall shows a screenful; beyond it, the count matters more than the rows. */
const MAX_LIVE_CALLS = 100;
/** What the browser waits before reconnecting a dropped stream (the `retry:` field). */
const RECONNECT_MS = 2000;
/** Comments that keep idle proxies from closing a stream with nothing new to say. */
const HEARTBEAT_MS = 15_000;
/** One poll must not stall the wallboard for Temporal's own (long) retry deadline. */
const READ_DEADLINE_MS = 5000;

export async function wallboard(app: FastifyInstance, options: WallboardOptions): Promise<void> {
  const feed = wallboardFeed(() => readSnapshot(options), options.pollIntervalMs ?? 1000, app.log);
  const streams = new Set<ServerResponse>();

  app.get('/wallboard', { schema: { hide: true } }, async (_request, reply) =>
    reply.header('cache-control', 'no-store').type('text/html; charset=utf-8').send(WALLBOARD_PAGE),
  );

  app.get('/wallboard/events', { schema: { hide: true } }, (_request, reply) => {
    reply.hijack();
    const stream = reply.raw;
    stream.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      // nginx would otherwise buffer the stream.
      'x-accel-buffering': 'no',
    });
    stream.write(`retry: ${RECONNECT_MS}\n\n`);
    const unsubscribe = feed.subscribe((event) => stream.write(event));
    const heartbeat = setInterval(() => stream.write(': heartbeat\n\n'), HEARTBEAT_MS);
    streams.add(stream);
    stream.on('close', () => {
      clearInterval(heartbeat);
      unsubscribe();
      streams.delete(stream);
    });
  });

  // Open streams would hold `app.close()` (and a draining gateway) forever: end them first; browsers reconnect,
  // through the balancer, to a gateway that is staying.
  app.addHook('preClose', async () => {
    for (const stream of streams) stream.end();
  });
  app.addHook('onClose', async () => feed.stop());
}

/** The event a subscriber receives: the snapshot and the server's clock, so ages on the page match ours. */
type Send = (event: string) => void;

/**
 * Polls `read` every `intervalMs` while anyone subscribes and sends each a `snapshot` event when the result
 * changed (a new subscriber gets the latest at once), or a `problem` event while reading fails.
 */
export function wallboardFeed(
  read: () => Promise<WallboardSnapshot>,
  intervalMs: number,
  log: Pick<FastifyInstance['log'], 'warn'>,
) {
  const subscribers = new Set<Send>();
  let latest: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  let polling = false;
  let stopped = false;

  const snapshotEvent = (json: string) => `event: snapshot\ndata: {"serverTime":${Date.now()},"snapshot":${json}}\n\n`;
  const broadcast = (event: string) => {
    for (const send of subscribers) send(event);
  };

  async function poll(): Promise<void> {
    polling = true;
    try {
      const json = JSON.stringify(await read());
      if (json !== latest) {
        latest = json;
        broadcast(snapshotEvent(json));
      }
    } catch (err) {
      log.warn({ err }, 'wallboard: reading Temporal failed');
      // Sent again once reading works, which clears the page's warning.
      latest = undefined;
      broadcast(
        `event: problem\ndata: ${JSON.stringify({ detail: 'Temporal is not answering; figures are stale' })}\n\n`,
      );
    }
    polling = false;
    if (subscribers.size > 0 && !stopped) {
      timer = setTimeout(() => void poll(), intervalMs);
    } else {
      // Nobody watches: stop, and forget what is about to go stale (the next subscriber waits for a fresh read).
      timer = undefined;
      latest = undefined;
    }
  }

  return {
    subscribe(send: Send): () => void {
      subscribers.add(send);
      if (latest !== undefined) send(snapshotEvent(latest));
      if (!polling && timer === undefined && !stopped) void poll();
      return () => subscribers.delete(send);
    },
    stop(): void {
      stopped = true;
      clearTimeout(timer);
      subscribers.clear();
    },
  };
}

async function readSnapshot({ client, connection, queues }: WallboardOptions): Promise<WallboardSnapshot> {
  return connection.withDeadline(Date.now() + READ_DEADLINE_MS, async () => {
    const calls: WallboardCall[] = [];
    let moreCalls = false;
    const running = client.workflow.list({
      query: `WorkflowType = '${CALL_SESSION_WORKFLOW}' AND ExecutionStatus = 'Running'`,
    });
    for await (const session of running) {
      if (calls.length === MAX_LIVE_CALLS) {
        moreCalls = true;
        break;
      }
      const attribute = session.typedSearchAttributes;
      calls.push({
        workflowId: session.workflowId,
        startedAt: session.startTime.toISOString(),
        status: attribute.get(CallStatusKey),
        provider: attribute.get(CallProviderKey),
        direction: attribute.get(CallDirectionKey),
        from: attribute.get(CallFromKey),
        to: attribute.get(CallToKey),
        flow: attribute.get(CallFlowKey),
        queue: attribute.get(CallQueueKey),
      });
    }
    const queueList = await Promise.all(
      Object.keys(queues).map(async (name) => summarizeQueue(name, queues[name], await readQueue(client, name))),
    );
    return { calls, moreCalls, queues: queueList };
  });
}

/** The queue's live view, or undefined while no caller or agent has started its workflow. */
async function readQueue(client: Client, name: string): Promise<QueueView | undefined> {
  try {
    return await client.workflow.getHandle(queueWorkflowId(name)).query(queueStateQuery, { now: Date.now() });
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

/** What the wall shows of a queue: counts and times that change only when something happens in it. */
export function summarizeQueue(name: string, config: Partial<QueueConfig>, view?: QueueView): WallboardQueue {
  const resolved = view?.config ?? resolveQueueConfig(config);
  const callers = view?.waiting.filter((entry) => entry.kind === 'caller') ?? [];
  const agentsByState: Partial<Record<AgentState, number>> = {};
  for (const agent of view?.agents ?? []) agentsByState[agent.state] = (agentsByState[agent.state] ?? 0) + 1;
  const longestWaitingSince = callers.map((entry) => entry.arrivedAt).sort()[0];
  const stats = view?.stats;
  return {
    name,
    started: view !== undefined,
    waiting: callers.length,
    callbacks: (view?.waiting.length ?? 0) - callers.length,
    ...(longestWaitingSince ? { longestWaitingSince } : {}),
    agents: (view?.agents ?? []).map((agent) => ({
      id: agent.id,
      state: agent.state,
      since: new Date(agent.since).toISOString(),
    })),
    agentsByState,
    ...(stats?.serviceLevel !== undefined ? { serviceLevel: stats.serviceLevel } : {}),
    serviceLevelSeconds: resolved.serviceLevelSeconds,
    windowSeconds: resolved.statsWindowSeconds,
    windowAnswered: stats?.windowAnswered ?? 0,
    windowAbandoned: stats?.windowAbandoned ?? 0,
    ...(stats?.windowAverageSpeedOfAnswerSeconds !== undefined
      ? { windowAverageSpeedOfAnswerSeconds: stats.windowAverageSpeedOfAnswerSeconds }
      : {}),
  };
}
