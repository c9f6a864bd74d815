import { readFileSync } from 'node:fs';
import { QUEUE_DEFAULTS, QUEUE_STRATEGIES, isQueueName, type QueueConfig } from '../calls/queue';
import { ConfigError } from './env';

/**
 * The queues file (`config/queues.json`, or QUEUES_PATH): one entry per queue, `{ "<name>": { ...QueueConfig } }`.
 * Every setting is optional (defaults in `QUEUE_DEFAULTS`); the entry is what a queue workflow starts with.
 * Checked once at start, so a typo fails the process instead of a caller's join.
 */
export type QueuesFile = Record<string, Partial<QueueConfig>>;

const NUMBER_FIELDS = Object.entries(QUEUE_DEFAULTS)
  .filter(([, value]) => typeof value === 'number')
  .map(([key]) => key);
const KNOWN_FIELDS = new Set([...Object.keys(QUEUE_DEFAULTS), 'overflow', 'holdMusicUrl']);

export function loadQueuesFile(file: string): QueuesFile {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(`cannot read queues file ${file}: ${(err as Error).message}`);
  }
  return checkQueues(parsed, file);
}

export function checkQueues(parsed: unknown, file: string): QueuesFile {
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError(`${file}: must be an object of queue name → settings`);
  }
  const queues: QueuesFile = {};
  for (const [name, entry] of Object.entries(parsed)) {
    const where = `${file}: queue "${name}"`;
    if (!isQueueName(name)) throw new ConfigError(`${where}: names are letters, digits, - and _ (at most 63)`);
    if (!entry || typeof entry !== 'object' || Array.isArray(entry))
      throw new ConfigError(`${where} must be an object`);
    const settings = entry as Record<string, unknown>;
    for (const [key, value] of Object.entries(settings)) {
      if (!KNOWN_FIELDS.has(key)) throw new ConfigError(`${where}: unknown setting "${key}"`);
      if (NUMBER_FIELDS.includes(key) && !(typeof value === 'number' && Number.isFinite(value) && value >= 0)) {
        throw new ConfigError(`${where}: "${key}" must be a non-negative number, got ${JSON.stringify(value)}`);
      }
    }
    if (settings.strategy !== undefined && !QUEUE_STRATEGIES.includes(settings.strategy as QueueConfig['strategy'])) {
      throw new ConfigError(`${where}: "strategy" must be one of ${QUEUE_STRATEGIES.join(', ')}`);
    }
    for (const key of ['holdMusicUrl', 'callbackFlow'] as const) {
      if (settings[key] !== undefined && (typeof settings[key] !== 'string' || settings[key] === '')) {
        throw new ConfigError(`${where}: "${key}" must be a non-empty string`);
      }
    }
    const overflow = settings.overflow as Record<string, unknown> | undefined;
    if (overflow !== undefined) {
      const ok =
        overflow &&
        typeof overflow === 'object' &&
        ((overflow.kind === 'flow' && typeof overflow.flow === 'string') ||
          (overflow.kind === 'queue' && isQueueName(overflow.queue)) ||
          overflow.kind === 'voicemail');
      if (!ok) {
        throw new ConfigError(
          `${where}: "overflow" must be {kind:"flow",flow}, {kind:"queue",queue} or {kind:"voicemail"}`,
        );
      }
    }
    queues[name] = settings as Partial<QueueConfig>;
  }
  return queues;
}
