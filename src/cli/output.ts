import { InvalidArgumentError, type Command } from 'commander';
import { createApi, type Api } from './api';

/** What every command gets: the API client and whether to print raw JSON. */
export interface Context {
  api: Api;
  json: boolean;
}

/** The global options (`--url`, `--api-key`, `--json`), wherever on the command line they were given. */
export function contextOf(command: Command): Context {
  const options = command.optsWithGlobals<{ url: string; apiKey?: string; json?: boolean }>();
  const apiKey = options.apiKey ?? process.env.DURABLE_CALLS_API_KEY;
  return { api: createApi({ url: options.url, apiKey: apiKey || undefined }), json: Boolean(options.json) };
}

/** `--json`: the response as the API sent it; otherwise the human form. */
export function print(context: Context, response: unknown, human: () => string): void {
  console.log(context.json ? JSON.stringify(response, null, 2) : human());
}

type Cell = string | number | boolean | undefined | null;

const text = (value: Cell) => (value === undefined || value === null || value === '' ? '-' : String(value));

/** `key  value` lines, keys padded to one width; empty values are left out. */
export function fields(entries: Array<[string, Cell]>): string {
  const shown = entries.filter(([, value]) => value !== undefined && value !== null && value !== '');
  const width = Math.max(0, ...shown.map(([key]) => key.length));
  return shown.map(([key, value]) => `${key.padEnd(width)}  ${text(value)}`).join('\n');
}

/** A table with a header row, columns padded to their widest cell. */
export function table(headers: string[], rows: Cell[][]): string {
  const cells = [headers, ...rows.map((row) => row.map(text))];
  const widths = headers.map((_, column) => Math.max(...cells.map((row) => row[column].length)));
  return cells
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** `k=v` option values, repeatable: collected into a record. */
export function keyValue<V>(convert: (raw: string, key: string) => V) {
  return (raw: string, previous: Record<string, V> = {}): Record<string, V> => {
    const equals = raw.indexOf('=');
    if (equals <= 0) throw new InvalidArgumentError(`expected key=value, got "${raw}"`);
    const key = raw.slice(0, equals);
    return { ...previous, [key]: convert(raw.slice(equals + 1), key) };
  };
}

export function positiveInteger(raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`expected a positive integer, got "${raw}"`);
  return n;
}
