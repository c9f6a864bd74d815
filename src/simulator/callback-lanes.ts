import type { Timers } from './clock';

/**
 * How the Telnyx and SignalWire simulators deliver status webhooks: per call (a lane), first attempts go out
 * one after another so they normally arrive in order; failed ones are retried outside the lane with the same
 * backoff, so a failing webhook does not hold back the call's later ones.
 */

/** 15 attempts with 250 ms doubling, capped at 5 s: about 53 s in all, close to Telnyx's 60 s policy cap. */
export const CALLBACK_MAX_ATTEMPTS = 15;
const RETRY_FIRST_DELAY_MS = 250;
const RETRY_MAX_DELAY_MS = 5_000;

/** The wait before the next attempt, after `attempts` failed ones. */
export function callbackRetryDelayMs(attempts: number): number {
  return Math.min(RETRY_FIRST_DELAY_MS * 2 ** (attempts - 1), RETRY_MAX_DELAY_MS);
}

/** A random delay in `[min, max]` ms, before a webhook's first attempt. */
export function randomDelayMs([min, max]: [number, number]): number {
  return min + Math.random() * Math.max(0, max - min);
}

export interface Lane {
  tail: Promise<void>;
  /** Webhooks not yet delivered or given up, plus holds. */
  pending: number;
  idleWaiters: Array<() => void>;
}

export class Lanes {
  private readonly lanes = new Map<string, Lane>();
  private closed = false;

  get(key: string): Lane {
    let lane = this.lanes.get(key);
    if (!lane) {
      lane = { tail: Promise.resolve(), pending: 0, idleWaiters: [] };
      this.lanes.set(key, lane);
    }
    return lane;
  }

  /** One webhook of the lane was delivered or given up (or a hold released). */
  settle(lane: Lane): void {
    lane.pending--;
    if (lane.pending === 0) lane.idleWaiters.splice(0).forEach((resolve) => resolve());
  }

  /** Keeps the lane busy until the returned function is called (for webhooks that follow a little later). */
  hold(key: string): () => void {
    const lane = this.get(key);
    lane.pending++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.settle(lane);
    };
  }

  /** Resolves once every webhook of the lane was delivered or given up. */
  idle(key: string): Promise<void> {
    const lane = this.lanes.get(key);
    if (!lane || lane.pending === 0 || this.closed) return Promise.resolve();
    return new Promise((resolve) => lane.idleWaiters.push(resolve));
  }

  /** Releases every waiter; `idle` answers at once from now on. */
  close(): void {
    this.closed = true;
    for (const lane of this.lanes.values()) lane.idleWaiters.splice(0).forEach((resolve) => resolve());
  }
}

/** One attempt's verdict: delivered, worth another try, or a failure not to retry. */
export type AttemptVerdict = 'delivered' | 'retry' | 'final';

export interface LaneCallback {
  /** Random delay before the first attempt, in real ms. */
  delayMs: [number, number];
  /** Sends once; counts its attempts itself. */
  attempt: () => Promise<AttemptVerdict>;
  attempts: () => number;
  /** Called once when the callback is given up (a final failure, or CALLBACK_MAX_ATTEMPTS reached). */
  giveUp: () => void;
  log: (line: string) => void;
  /** The `reorderWebhooks` fault: leave the lane and wait this long (real ms) before the first attempt. */
  reorderDelayMs?: number;
  /** The `noRetry` fault: a failed first attempt is final. */
  noRetry?: boolean;
}

/**
 * Queues a callback in its lane: the first attempt goes out in lane order after a random delay; retries run
 * outside the lane with `callbackRetryDelayMs`, so a failing callback does not hold back the call's later ones.
 */
export function queueInLane(lanes: Lanes, key: string, timers: Timers, callback: LaneCallback): void {
  const lane = lanes.get(key);
  lane.pending++;
  const tryOnce = async (): Promise<void> => {
    const verdict = await callback.attempt();
    if (verdict === 'delivered') return lanes.settle(lane);
    if (verdict === 'final' || callback.noRetry === true || callback.attempts() >= CALLBACK_MAX_ATTEMPTS) {
      callback.giveUp();
      return lanes.settle(lane);
    }
    void timers
      .sleep(callbackRetryDelayMs(callback.attempts()))
      .then(tryOnce)
      .catch((err: unknown) => callback.log(`callback retry error: ${String(err)}`));
  };
  if (callback.reorderDelayMs !== undefined) {
    // Out of the lane: it neither waits for the call's earlier webhooks nor holds back its later ones.
    void timers
      .sleep(callback.reorderDelayMs)
      .then(tryOnce)
      .catch((err: unknown) => callback.log(`callback error: ${String(err)}`));
    return;
  }
  lane.tail = lane.tail
    .then(() => timers.sleep(randomDelayMs(callback.delayMs)))
    .then(tryOnce)
    .catch((err: unknown) => callback.log(`callback lane error: ${String(err)}`));
}
