import { setTimeout as sleep } from 'node:timers/promises';
import { Option, type Command } from 'commander';
import { segment } from './api';
import { contextOf, fields, positiveInteger, print, type Context } from './output';

interface StartedFax {
  workflowId: string;
  started: boolean;
  temporalUiUrl?: string;
}

interface FaxState {
  status: string;
  attempt: number;
  maxAttempts: number;
  pagesSent: number;
  to: string;
  from: string;
  provider: string;
  nextAttemptAt?: string;
  result?: Record<string, unknown>;
}

interface FaxDetail {
  workflowId: string;
  temporalUiUrl?: string;
  state: FaxState;
}

/** Statuses a fax does not leave. */
const FINAL = new Set(['succeeded', 'failed', 'cancelled']);

/** `faxes ...`: send, read, follow and cancel faxes. */
export function faxesCommand(program: Command): void {
  const faxes = program.command('faxes').description('faxes we send');

  faxes
    .command('send')
    .description('send a fax')
    .requiredOption('--to <number>', 'E.164 number or SIP URI')
    .requiredOption('--from <number>', 'E.164 number or SIP URI')
    .requiredOption('--document-url <url>', 'the PDF the carrier fetches (http or https)')
    .addOption(
      new Option('--provider <carrier>', "carrier (default: the gateway's first that faxes)").choices([
        'telnyx',
        'signalwire',
        'jambonz',
      ]),
    )
    .option('--header-info <text>', 'header line (carriers that support it)')
    .option('--identity <text>', 'station id (carriers that support it)')
    .option('--max-attempts <n>', 'attempts before giving up (1-10)', positiveInteger)
    .option('--retry-delay <seconds>', 'seconds between attempts', positiveInteger)
    .option('--request-id <id>', 'idempotency key: the same id always names the same fax')
    .action(async (options, command: Command) => {
      const context = contextOf(command);
      const fax = await context.api.post<StartedFax>('/faxes', {
        to: options.to,
        from: options.from,
        documentUrl: options.documentUrl,
        provider: options.provider,
        headerInfo: options.headerInfo,
        identity: options.identity,
        maxAttempts: options.maxAttempts,
        retryDelaySeconds: options.retryDelay,
        requestId: options.requestId,
      });
      print(context, fax, () =>
        fields([
          ['workflowId', fax.workflowId],
          ['started', fax.started ? 'yes' : 'no (this request id sent it before)'],
          ['temporalUi', fax.temporalUiUrl],
        ]),
      );
    });

  faxes
    .command('show')
    .description("a fax's state")
    .argument('<id>', 'workflow id (fax:...) or the part after fax:')
    .action(async (id: string, _options, command: Command) => {
      const context = contextOf(command);
      const fax = await readFax(context, id);
      print(context, fax, () =>
        fields([
          ['workflowId', fax.workflowId],
          ['provider', fax.state.provider],
          ['from', fax.state.from],
          ['to', fax.state.to],
          ...stateFields(fax.state),
          ['temporalUi', fax.temporalUiUrl],
        ]),
      );
    });

  faxes
    .command('follow')
    .description('watch a fax until it ends, printing each change (exit 0 only if it succeeded)')
    .argument('<id>', 'workflow id (fax:...) or the part after fax:')
    .option('--interval <ms>', 'how often to ask', positiveInteger, 1000)
    .action(async (id: string, options: { interval: number }, command: Command) => {
      const context = contextOf(command);
      let last = '';
      for (;;) {
        const fax = await readFax(context, id);
        const line = summary(fax.state);
        if (line !== last) {
          // --json: one state per line (JSON Lines), for scripts that read as it goes.
          console.log(context.json ? JSON.stringify(fax) : `${new Date().toISOString().slice(11, 19)}  ${line}`);
          last = line;
        }
        if (FINAL.has(fax.state.status)) {
          if (fax.state.status !== 'succeeded') process.exitCode = 1;
          return;
        }
        await sleep(options.interval);
      }
    });

  faxes
    .command('cancel')
    .description('cancel a fax (a transmission in progress is stopped, a pending retry dropped)')
    .argument('<id>', 'workflow id (fax:...) or the part after fax:')
    .option('--reason <text>', 'why')
    .action(async (id: string, options: { reason?: string }, command: Command) => {
      const context = contextOf(command);
      const answer = await context.api.post<{ workflowId: string; cancelRequested: boolean }>(
        `/faxes/${segment(id)}/cancel`,
        options.reason ? { reason: options.reason } : {},
      );
      print(context, answer, () => `cancel requested for ${answer.workflowId}`);
    });
}

const readFax = (context: Context, id: string) => context.api.get<FaxDetail>(`/faxes/${segment(id)}`);

function stateFields(state: FaxState): Array<[string, string | number | undefined]> {
  return [
    ['status', state.status],
    ['attempt', `${state.attempt}/${state.maxAttempts}`],
    ['pagesSent', state.pagesSent],
    ['nextAttemptAt', state.nextAttemptAt],
    ['result', state.result ? JSON.stringify(state.result) : undefined],
  ];
}

/** One line per status change: status, attempt and pages. */
function summary(state: FaxState): string {
  return stateFields(state)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => (key === 'status' ? String(value) : `${key} ${value}`))
    .join('  ');
}
