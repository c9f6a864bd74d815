#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { callsCommand } from './calls';
import { faxesCommand } from './faxes';
import { queuesCommand } from './queues';

/**
 * `durable-calls`: the REST API from a terminal. Human output by default, `--json` for scripts. Exit codes:
 * 0 done, 1 the API (or the network) refused, 2 the command line was wrong.
 */

/** The gateway's default listen port is 3000 (`PORT`, src/config). */
const DEFAULT_URL = 'http://127.0.0.1:3000';

export function buildProgram(): Command {
  const program = new Command('durable-calls')
    .description('Place and follow calls, faxes and queues through the durable-calls REST API')
    .option('--url <url>', 'the gateway (env DURABLE_CALLS_URL)', process.env.DURABLE_CALLS_URL || DEFAULT_URL)
    // No commander default for the key: help would print it.
    .option('--api-key <key>', 'API key (env DURABLE_CALLS_API_KEY)')
    .option('--json', 'print the raw JSON response')
    .showHelpAfterError('(add --help for usage)')
    // Usage errors exit 2 (commander's default is 1, which here means the API refused).
    .exitOverride((err) => {
      throw err;
    });
  callsCommand(program);
  queuesCommand(program);
  faxesCommand(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    console.error(`error: ${(err as Error).message}`);
    return 1;
  }
}

if (require.main === module) {
  void main(process.argv).then((code) => {
    process.exitCode = code;
  });
}
