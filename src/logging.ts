import type { FastifyServerOptions } from 'fastify';
import { PinoPretty, prettyFactory, type PrettyOptions } from 'pino-pretty';

/**
 * How the gateway and the worker write their logs: one JSON object a line (pino's format, for machines and log
 * collectors), or pino-pretty's readable lines on a terminal. `LOG_FORMAT` decides; unset, the format follows
 * whether stdout is a terminal.
 */

export type LogFormat = 'pretty' | 'json';

const PRETTY: PrettyOptions = { ignore: 'pid,hostname', translateTime: 'SYS:HH:MM:ss.l', singleLine: true };

/** The configured format, else pretty when `stream` is a terminal. */
export function logFormat(configured: LogFormat | undefined, stream: { isTTY?: boolean } = process.stdout): LogFormat {
  return configured ?? (stream.isTTY ? 'pretty' : 'json');
}

/** Fastify's `logger` option: pino with its JSON lines, or through pino-pretty. */
export function gatewayLogger(level: string, format: LogFormat): FastifyServerOptions['logger'] {
  return format === 'pretty' ? { level, stream: PinoPretty({ ...PRETTY, colorize: true }) } : { level };
}

/** pino's numeric levels, so JSON lines from the worker read like the gateway's. */
const PINO_LEVELS = { TRACE: 10, DEBUG: 20, INFO: 30, WARN: 40, ERROR: 50 } as const;
export type LogLevelName = keyof typeof PINO_LEVELS;

export interface LogRecord {
  level: LogLevelName;
  msg: string;
  [field: string]: unknown;
}

/** Writes pino-shaped records to stdout in `format` (the worker's logs and its ready line). */
export function logWriter(format: LogFormat): (record: LogRecord) => void {
  const pretty = format === 'pretty' ? prettyFactory({ ...PRETTY, colorize: true }) : undefined;
  return ({ level, msg, ...fields }) => {
    const line = { level: PINO_LEVELS[level], time: Date.now(), pid: process.pid, msg, ...serialisable(fields) };
    process.stdout.write(pretty ? pretty(line) : `${JSON.stringify(line)}\n`);
  };
}

/** Errors as their type, message and stack (JSON.stringify makes `{}` of an Error). */
function serialisable(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    out[key] = value instanceof Error ? { type: value.name, message: value.message, stack: value.stack } : value;
  }
  return out;
}

/**
 * A JSON log line of a child process made readable (`npm start` on a terminal shows its parts' logs this way);
 * any other line as it is.
 */
export function prettifier(): (line: string) => string {
  const pretty = prettyFactory({ ...PRETTY, colorize: true });
  return (line) => {
    if (!line.startsWith('{')) return line;
    try {
      const record = JSON.parse(line) as Record<string, unknown>;
      return typeof record.level === 'number' ? pretty(record).trimEnd() : line;
    } catch {
      return line;
    }
  };
}
