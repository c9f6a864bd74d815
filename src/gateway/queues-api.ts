import {
  WithStartWorkflowOperation,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
} from '@temporalio/client';
import type { FastifyInstance, FastifyReply } from 'fastify';
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
const agentChangeSchema = {
  type: 'object',
  required: ['op', 'agentId'],
  additionalProperties: false,
  properties: {
    op: { type: 'string', enum: ['sign-in', 'sign-out', 'set-state', 'set-skills'] },
    agentId: { type: 'string', minLength: 1, maxLength: 100 },
    address: { type: 'string', minLength: 1 },
    skills: { type: 'object', additionalProperties: { type: 'number', minimum: 0 } },
    state: { type: 'string', enum: ['available', 'break'] },
    reason: { type: 'string' },
  },
} as const;

export function agentChangeProblem(body: AgentChange): string | undefined {
  if (body.op === 'sign-in' && !isDialTarget(body.address))
    return 'sign-in needs an "address": an E.164 number or SIP URI';
  if (body.op === 'set-state' && !body.state) return 'set-state needs a "state" (available or break)';
  if (body.op === 'set-skills' && !body.skills) return 'set-skills needs "skills"';
  return undefined;
}

export async function queuesApi(app: FastifyInstance, options: QueuesApiOptions): Promise<void> {
  const { client, queues } = options;
  const known = (name: string) => Object.prototype.hasOwnProperty.call(queues, name);
  const unknown = (reply: FastifyReply, name: string) =>
    sendProblem(
      reply,
      404,
      'not-found',
      `no queue named "${name}" (queues: ${Object.keys(queues).join(', ') || 'none'})`,
    );

  /** The queue's live view, or undefined while no caller or agent has started its workflow. */
  const view = async (name: string): Promise<QueueView | undefined> => {
    try {
      return await client.workflow.getHandle(queueWorkflowId(name)).query(queueStateQuery, { now: Date.now() });
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw err;
    }
  };
  /** A queue nobody has used yet: its configuration and nothing else. */
  const idle = (name: string) => ({ name, started: false, config: resolveQueueConfig(queues[name]) });

  app.get('/queues', async (request, reply) => {
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
  });

  app.get<{ Params: { name: string } }>('/queues/:name', async (request, reply) => {
    const { name } = request.params;
    if (!known(name)) return unknown(reply, name);
    try {
      const state = await view(name);
      return reply.send(state ? { started: true, ...state } : idle(name));
    } catch (err) {
      return temporalUnavailable(reply, err, request.log);
    }
  });

  app.post<{ Params: { name: string }; Body: AgentChange }>(
    '/queues/:name/agents',
    { schema: { body: agentChangeSchema } },
    async (request, reply) => {
      const { name } = request.params;
      if (!known(name)) return unknown(reply, name);
      const problem = agentChangeProblem(request.body);
      if (problem) return sendProblem(reply, 400, 'bad-request', problem);
      const start = queueWorkflowStart(name, queues[name]);
      try {
        // An agent signing in may be the queue's first user: update-with-start, like a caller's join.
        const agent = await client.workflow.executeUpdateWithStart(agentUpdate, {
          args: [request.body],
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
