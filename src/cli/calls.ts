import { InvalidArgumentError, Option, type Command } from 'commander';
import { segment } from './api';
import { contextOf, fields, keyValue, positiveInteger, print, table } from './output';

const PROVIDERS = ['telnyx', 'signalwire', 'jambonz'];

interface PlacedCall {
  workflowId: string;
  started: boolean;
  statusUrl: string;
  temporalUiUrl?: string;
}

interface CallSummary {
  workflowId: string;
  provider?: string;
  status?: string;
  direction?: string;
  flow?: string;
  from?: string;
  to?: string;
  startedAt: string;
  closedAt?: string;
}

interface CallDetail {
  workflowId: string;
  temporalUiUrl?: string;
  state: Record<string, unknown> & { status: string; provider: string };
}

/** `--arg` values: numbers and true/false as such (flow arguments are typed), anything else a string. */
function flowArgValue(raw: string): string | number | boolean {
  if (raw === 'true' || raw === 'false') return raw === 'true';
  return /^-?(0|[1-9]\d{0,14})(\.\d+)?$/.test(raw) ? Number(raw) : raw;
}

function jsonObject(raw: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new InvalidArgumentError('not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new InvalidArgumentError('expected a JSON object');
  return value as Record<string, unknown>;
}

/** `calls ...`: place, list, show and control call sessions. */
export function callsCommand(program: Command): void {
  const calls = program.command('calls').description('call sessions');

  calls
    .command('place')
    .description('place an outbound call')
    .requiredOption('--to <number>', 'E.164 number or SIP URI to call')
    .requiredOption('--from <number>', 'caller id: E.164 number or SIP URI')
    .addOption(new Option('--provider <carrier>', "carrier (default: the gateway's first)").choices(PROVIDERS))
    .option('--flow <name>', 'flow to run (default outboundNotice)')
    .option('--arg <key=value>', 'flow argument, repeatable (numbers and true/false are typed)', keyValue(flowArgValue))
    .option('--request-id <id>', 'idempotency key: the same id always names the same call')
    .action(async (options, command: Command) => {
      const context = contextOf(command);
      const placed = await context.api.post<PlacedCall>('/calls', {
        to: options.to,
        from: options.from,
        provider: options.provider,
        flow: options.flow,
        args: options.arg,
        requestId: options.requestId,
      });
      print(context, placed, () =>
        fields([
          ['workflowId', placed.workflowId],
          ['started', placed.started ? 'yes' : 'no (this request id placed it before)'],
          ['temporalUi', placed.temporalUiUrl],
        ]),
      );
    });

  calls
    .command('list')
    .description('list call sessions (from Temporal visibility: newest first, eventually consistent)')
    .addOption(
      new Option('--status <status>', 'running, closed or all')
        .choices(['running', 'closed', 'all'])
        .default('running'),
    )
    .addOption(new Option('--provider <carrier>', 'only this carrier').choices(PROVIDERS))
    .option('--queue <name>', 'only calls in this queue')
    .option('--limit <n>', 'at most this many (max 500)', positiveInteger)
    .option('--page-token <token>', 'the next page, as the previous one named it')
    .action(async (options, command: Command) => {
      const context = contextOf(command);
      const page = await context.api.get<{ calls: CallSummary[]; nextPageToken?: string }>('/calls', {
        status: options.status,
        provider: options.provider,
        queue: options.queue,
        limit: options.limit,
        pageToken: options.pageToken,
      });
      print(context, page, () => {
        const rows = page.calls.map((c) => [c.workflowId, c.status, c.direction, c.from, c.to, c.flow, c.startedAt]);
        const lines = [table(['WORKFLOW ID', 'STATUS', 'DIRECTION', 'FROM', 'TO', 'FLOW', 'STARTED'], rows)];
        if (page.calls.length === 0) lines.push('(no calls)');
        if (page.nextPageToken) lines.push(`more: --page-token ${page.nextPageToken}`);
        return lines.join('\n');
      });
    });

  calls
    .command('show')
    .description("a call session's state")
    .argument('<id>', 'workflow id (call:<carrier>:...)')
    .action(async (id: string, _options, command: Command) => {
      const context = contextOf(command);
      const call = await context.api.get<CallDetail>(`/calls/${segment(id)}`);
      const s = call.state;
      const text = (key: string) =>
        typeof s[key] === 'string' || typeof s[key] === 'number' ? String(s[key]) : undefined;
      print(context, call, () =>
        fields([
          ['workflowId', call.workflowId],
          ...[
            'provider',
            'status',
            'direction',
            'flow',
            'from',
            'to',
            'startedAt',
            'answeredAt',
            'endedAt',
            'endCause',
            'currentOperation',
            'digits',
          ].map((key): [string, string | undefined] => [key, text(key)]),
          ['temporalUi', call.temporalUiUrl],
        ]),
      );
    });

  calls
    .command('hangup')
    .description('hang up a call')
    .argument('<id>', 'workflow id (call:<carrier>:...)')
    .action(async (id: string, _options, command: Command) => {
      await callAction(command, id, 'hangup', undefined);
    });

  calls
    .command('control')
    .description('send a call an action (POST /calls/:id/actions/:action)')
    .argument('<id>', 'workflow id (call:<carrier>:...)')
    .argument('<action>', 'the action, e.g. hangup')
    .option('--json-body <json>', "the action's arguments, a JSON object", jsonObject)
    .action(async (id: string, action: string, options: { jsonBody?: Record<string, unknown> }, command: Command) => {
      await callAction(command, id, action, options.jsonBody);
    });
}

async function callAction(command: Command, id: string, action: string, body: Record<string, unknown> | undefined) {
  const context = contextOf(command);
  const answer = await context.api.post<Record<string, unknown>>(
    `/calls/${segment(id)}/actions/${segment(action)}`,
    body ?? {},
  );
  print(context, answer, () =>
    fields(
      Object.entries(answer).map(([key, value]): [string, string] => [
        key,
        typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value),
      ]),
    ),
  );
}
