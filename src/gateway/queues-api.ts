import {
  WithStartWorkflowOperation,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
} from '@temporalio/client';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { Type } from 'typebox';
import {
  CALL_QUEUE_WORKFLOW,
  agentUpdate,
  isDialTarget,
  queueStateQuery,
  queueWorkflowId,
  queueWorkflowStart,
  resolveQueueConfig,
  type AgentChange,
  type QueueConfig,
  type QueueView,
} from '../calls';
import { sendProblem, temporalUnavailable } from './problem';
import { AUTH_PROBLEMS, problems } from './schemas';

/**
 * The REST API of the call queues, for the people running them (and tests): list the queues with live
 * figures, read one (the queue's `state` query: waiting callers with positions and estimates, agents,
 * statistics), and sign agents in and out or change their state (`agentUpdate`). Reads need `read`, changes
 * the `calls` scope (auth.ts). Only queues in the queues file exist here.
 */

export interface QueuesApiOptions {
  client: Client;
  taskQueue: string;
  queues: Record<string, Partial<QueueConfig>>;
}

/**
 * The body of `POST /queues/:name/agents`: one `AgentChange`. One flat schema (fastify's `removeAdditional`
 * would strip fields while trying `oneOf` branches); what each op needs is checked in `agentChangeProblem`.
 */
const AgentChangeBody = Type.Object(
  {
    op: Type.Enum(['sign-in', 'sign-out', 'set-state', 'set-skills'] as const),
    agentId: Type.String({ minLength: 1, maxLength: 100 }),
    address: Type.Optional(Type.String({ minLength: 1, description: 'sign-in: E.164 number or SIP URI to ring' })),
    skills: Type.Optional(
      Type.Record(Type.String(), Type.Number({ minimum: 0 }), { description: 'sign-in, set-skills: skill → level' }),
    ),
    state: Type.Optional(Type.Enum(['available', 'break'] as const, { description: 'set-state' })),
    reason: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

/** An object passed through as the queue workflow reports it (configuration, statistics, an agent). */
const Passthrough = (description: string) => Type.Object({}, { additionalProperties: true, description });

/** One queue in `GET /queues`: live figures once started, else only its configuration. */
const QueueSummary = Type.Object({
  name: Type.String(),
  started: Type.Boolean({ description: 'false: no caller or agent has used the queue yet' }),
  stats: Type.Optional(Passthrough("The queue's statistics")),
  agents: Type.Optional(Type.Integer({ description: 'Agents signed in' })),
  waiting: Type.Optional(Type.Integer({ description: 'Callers waiting' })),
  config: Type.Optional(Passthrough("The queue's configuration")),
});

/** `GET /queues/:name`: the queue's `state` query (waiting callers, agents, statistics) or its configuration. */
const QueueDetail = Type.Object(
  {
    name: Type.String(),
    started: Type.Boolean(),
    config: Passthrough("The queue's configuration"),
    at: Type.Optional(Type.String({ description: 'When the figures were computed' })),
    waiting: Type.Optional(Type.Array(Passthrough('A waiting caller, with position and estimate'))),
    agents: Type.Optional(Type.Array(Passthrough('An agent'))),
    stats: Type.Optional(Passthrough("The queue's statistics")),
  },
  { additionalProperties: true },
);

const QueueParams = Type.Object({ name: Type.String({ description: 'A queue of the queues file' }) });

export function agentChangeProblem(body: AgentChange): string | undefined {
  if (body.op === 'sign-in' && !isDialTarget(body.address))
    return 'sign-in needs an "address": an E.164 number or SIP URI';
  if (body.op === 'set-state' && !body.state) return 'set-state needs a "state" (available or break)';
  if (body.op === 'set-skills' && !body.skills) return 'set-skills needs "skills"';
  return undefined;
}

export async function queuesApi(parent: FastifyInstance, options: QueuesApiOptions): Promise<void> {
  const app = parent.withTypeProvider<TypeBoxTypeProvider>();
  const { client, queues } = options;
  const known = (name: string) => Object.prototype.hasOwnProperty.call(queues, name);
  const unknown = (reply: FastifyReply, name: string) =>
    sendProblem(
      reply,
      404,
      'not-found',
      `no queue named "${name}" (queues: ${Object.keys(queues).join(', ') || 'none'})`,
    );

  /**
   * The queue's live view, or undefined while no caller or agent has its workflow running. A closed one (ended,
   * terminated) has no live figures, and a query would wait for a worker to replay its whole history.
   */
  const view = async (name: string): Promise<QueueView | undefined> => {
    try {
      const handle = client.workflow.getHandle(queueWorkflowId(name));
      if ((await handle.describe()).status.name !== 'RUNNING') return undefined;
      return await handle.query(queueStateQuery, { now: Date.now() });
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw err;
    }
  };
  /** A queue nobody has used yet: its configuration and nothing else. */
  const idle = (name: string) => ({ name, started: false, config: resolveQueueConfig(queues[name]) });

  app.get(
    '/queues',
    {
      schema: {
        summary: 'The queues, with live figures',
        tags: ['queues'],
        response: { 200: Type.Object({ queues: Type.Array(QueueSummary) }), ...problems(...AUTH_PROBLEMS, 503) },
      },
    },
    async (request, reply) => {
      try {
        const list = [];
        for (const name of Object.keys(queues)) {
          const state = await view(name);
          list.push(
            state
              ? { name, started: true, stats: state.stats, agents: state.agents.length, waiting: state.waiting.length }
              : idle(name),
          );
        }
        return reply.send({ queues: list });
      } catch (err) {
        return temporalUnavailable(reply, err, request.log);
      }
    },
  );

  app.get(
    '/queues/:name',
    {
      schema: {
        summary: 'One queue: waiting callers, agents, statistics',
        tags: ['queues'],
        params: QueueParams,
        response: { 200: QueueDetail, ...problems(...AUTH_PROBLEMS, 404, 503) },
      },
    },
    async (request, reply) => {
      const { name } = request.params;
      if (!known(name)) return unknown(reply, name);
      try {
        const state = await view(name);
        return reply.send(state ? { started: true, ...state } : idle(name));
      } catch (err) {
        return temporalUnavailable(reply, err, request.log);
      }
    },
  );

  app.post(
    '/queues/:name/agents',
    {
      schema: {
        summary: 'Sign an agent in or out, or change its state or skills',
        tags: ['queues'],
        params: QueueParams,
        body: AgentChangeBody,
        response: {
          200: Type.Object({ queue: Type.String(), agent: Passthrough('The agent as the queue now has it') }),
          ...problems(400, ...AUTH_PROBLEMS, 404, 503),
        },
      },
    },
    async (request, reply) => {
      const { name } = request.params;
      if (!known(name)) return unknown(reply, name);
      // The schema is flat (see above); agentChangeProblem checks what each op needs, which makes it an AgentChange.
      const change = request.body as AgentChange;
      const problem = agentChangeProblem(change);
      if (problem) return sendProblem(reply, 400, 'bad-request', problem);
      const start = queueWorkflowStart(name, queues[name]);
      try {
        // An agent signing in may be the queue's first user: update-with-start, like a caller's join.
        const agent = await client.workflow.executeUpdateWithStart(agentUpdate, {
          args: [change],
          startWorkflowOperation: new WithStartWorkflowOperation(CALL_QUEUE_WORKFLOW, {
            ...start,
            taskQueue: options.taskQueue,
            workflowIdConflictPolicy: 'USE_EXISTING',
          }),
        });
        return reply.send({ queue: name, agent });
      } catch (err) {
        // The queue refused the change (unknown agent, ...): the reason is the queue's own words.
        if (err instanceof WorkflowUpdateFailedError) {
          return sendProblem(reply, 400, 'queue-refused', err.cause?.message ?? err.message);
        }
        return temporalUnavailable(reply, err, request.log);
      }
    },
  );
}
