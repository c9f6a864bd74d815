import { Option, type Command } from 'commander';
import { segment } from './api';
import { contextOf, fields, keyValue, print, table } from './output';

interface QueueStats {
  answered?: number;
  abandoned?: number;
  longestWaitSeconds?: number;
}

interface QueueSummary {
  name: string;
  started: boolean;
  waiting?: number;
  agents?: number;
  stats?: QueueStats;
}

interface QueueDetail {
  name: string;
  started: boolean;
  at?: string;
  stats?: QueueStats;
  agents?: Array<{ agentId: string; state?: string; address?: string }>;
  waiting?: Array<{
    position: number;
    sessionWorkflowId: string;
    status?: string;
    waitedSeconds?: number;
    estimatedWaitSeconds?: number;
  }>;
}

/** `queues ...`: read the call queues and change their agents. */
export function queuesCommand(program: Command): void {
  const queues = program.command('queues').description('call queues and their agents');

  queues
    .command('list')
    .description('the queues, with live figures')
    .action(async (_options, command: Command) => {
      const context = contextOf(command);
      const answer = await context.api.get<{ queues: QueueSummary[] }>('/queues');
      print(context, answer, () =>
        answer.queues.length === 0
          ? '(no queues configured)'
          : table(
              ['NAME', 'STARTED', 'WAITING', 'AGENTS', 'ANSWERED', 'ABANDONED'],
              answer.queues.map((q) => [
                q.name,
                q.started ? 'yes' : 'no',
                q.waiting,
                q.agents,
                q.stats?.answered,
                q.stats?.abandoned,
              ]),
            ),
      );
    });

  queues
    .command('show')
    .description('one queue: waiting callers, agents, statistics')
    .argument('<name>', 'queue name')
    .action(async (name: string, _options, command: Command) => {
      const context = contextOf(command);
      const q = await context.api.get<QueueDetail>(`/queues/${segment(name)}`);
      print(context, q, () => {
        const parts = [
          fields([
            ['name', q.name],
            ['started', q.started ? 'yes' : 'no (nobody has used it yet)'],
            ['at', q.at],
            ['answered', q.stats?.answered],
            ['abandoned', q.stats?.abandoned],
            ['longestWait', q.stats?.longestWaitSeconds === undefined ? undefined : `${q.stats.longestWaitSeconds} s`],
          ]),
        ];
        if (q.agents?.length) {
          parts.push(
            '',
            table(
              ['AGENT', 'STATE', 'ADDRESS'],
              q.agents.map((a) => [a.agentId, a.state, a.address]),
            ),
          );
        }
        if (q.waiting?.length) {
          parts.push(
            '',
            table(
              ['POS', 'SESSION', 'STATUS', 'WAITED', 'ESTIMATE'],
              q.waiting.map((w) => [
                w.position,
                w.sessionWorkflowId,
                w.status,
                w.waitedSeconds,
                w.estimatedWaitSeconds,
              ]),
            ),
          );
        }
        return parts.join('\n');
      });
    });

  queues
    .command('agent')
    .description('sign an agent in or out, or change its state or skills (one change at a time)')
    .argument('<queue>', 'queue name')
    .argument('<agentId>', 'agent id')
    .option('--sign-in <address>', 'sign the agent in, ringing this E.164 number or SIP URI')
    .option('--sign-out', 'sign the agent out')
    .addOption(new Option('--state <state>', 'set the agent available or on a break').choices(['available', 'break']))
    .option('--reason <text>', 'with --state: why')
    .option(
      '--skill <name=level>',
      'a skill (with --sign-in, or alone to replace the skills), repeatable',
      keyValue(Number),
    )
    .action(async (queue: string, agentId: string, options: AgentOptions, command: Command) => {
      const change = agentChange(agentId, options);
      if (typeof change === 'string') command.error(`error: ${change}`, { exitCode: 2, code: 'durable-calls.usage' });
      const context = contextOf(command);
      const answer = await context.api.post<{ queue: string; agent: Record<string, unknown> }>(
        `/queues/${segment(queue)}/agents`,
        change,
      );
      print(context, answer, () =>
        fields([
          ['queue', answer.queue],
          ['agent', typeof answer.agent.agentId === 'string' ? answer.agent.agentId : agentId],
          ['state', typeof answer.agent.state === 'string' ? answer.agent.state : undefined],
        ]),
      );
    });
}

interface AgentOptions {
  signIn?: string;
  signOut?: boolean;
  state?: 'available' | 'break';
  reason?: string;
  skill?: Record<string, number>;
}

/** The body of `POST /queues/:name/agents` the options ask for, or why they do not make one. */
export function agentChange(agentId: string, options: AgentOptions): Record<string, unknown> | string {
  const chosen = [options.signIn !== undefined, options.signOut, options.state !== undefined].filter(Boolean).length;
  if (chosen > 1) return 'choose one of --sign-in, --sign-out, --state';
  if (options.signIn !== undefined) return { op: 'sign-in', agentId, address: options.signIn, skills: options.skill };
  if (options.signOut) return { op: 'sign-out', agentId };
  if (options.state) return { op: 'set-state', agentId, state: options.state, reason: options.reason };
  if (options.skill) return { op: 'set-skills', agentId, skills: options.skill };
  return 'say what to change: --sign-in <address>, --sign-out, --state <state> or --skill <name=level>';
}
