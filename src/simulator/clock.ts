/**
 * Simulated time for the three simulators. Scripts, verbs and documents speak in simulated milliseconds, which
 * `timeScale` turns into real ones, so a test at timeScale 0.05 still reports the lengths its script describes.
 * Two ways to wait, both on this one clock: timer callbacks (`Timers`, Telnyx and jambonz) and abortable
 * async waits (`delay`/`untilAborted`, SignalWire).
 */

/** Simulated durations every simulator uses for the same scripted behaviour, milliseconds. */
export const SIM_MS = {
  /** Text-to-speech length: per character, and at least this. */
  speakPerChar: 65,
  speakMin: 400,
  /** Length of any audio file played (the simulators do not fetch it). */
  audioFile: 3_000,
  /** The caller's pause between the end of a prompt and the first key press. */
  callerThinks: 600,
  betweenDigits: 250,
  beep: 500,
  /** Answering-machine detection: time to a verdict, then to the end of a machine's greeting. */
  amdVerdict: 1_500,
  amdGreetingEnded: 3_000,
  /** A leg we dial reports ringing this long after it was created. */
  ringing: 100,
  /** `AgentScript.answerAfterMs` when absent; a busy agent refuses after `busyAfter`. */
  defaultAnswerAfter: 300,
  busyAfter: 500,
  /** `CallerScript.giveUpAfterMs` when absent. */
  callerGivesUp: 60_000,
} as const;

export class SimClock {
  constructor(readonly timeScale: number) {}

  realMs(simMs: number): number {
    return Math.max(0, simMs * this.timeScale);
  }

  /** Simulated milliseconds since a real `Date.now()` instant (0 when time stands still). */
  simMsSince(realStartMs: number): number {
    return this.timeScale > 0 ? (Date.now() - realStartMs) / this.timeScale : 0;
  }

  simSecondsSince(realStartMs: number): number {
    return Math.floor(this.simMsSince(realStartMs) / 1000);
  }

  /** Waits `simMs`; rejects with the signal's reason as soon as `signal` aborts. */
  delay(simMs: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason as Error);
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal.reason as Error);
      };
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, this.realMs(simMs));
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Resolves when `signal` aborts (never rejects): for work that lasts until it is stopped. */
  untilAborted(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve();
      signal.addEventListener('abort', () => resolve(), { once: true });
    });
  }
}

/** Real time: webhook delivery delays and retries are not simulated durations. */
export const REAL_TIME = new SimClock(1);

/** Timers on one clock that can all be cancelled at once (a leg ending, the simulator closing). */
export class Timers {
  private readonly pending = new Set<NodeJS.Timeout>();
  private closed = false;

  /** `afterClose`: whether a `sleep` begun after `close()` resolves at once or never. */
  constructor(
    private readonly clock: SimClock,
    private readonly afterClose: 'resolve' | 'never' = 'never',
  ) {}

  after(simMs: number, fn: () => void): NodeJS.Timeout {
    const timer = setTimeout(() => {
      this.pending.delete(timer);
      fn();
    }, this.clock.realMs(simMs));
    this.pending.add(timer);
    return timer;
  }

  cancel(timer: NodeJS.Timeout | undefined): void {
    if (timer === undefined) return;
    clearTimeout(timer);
    this.pending.delete(timer);
  }

  /** Cancels every pending timer; later ones still run. */
  clear(): void {
    for (const timer of this.pending) clearTimeout(timer);
    this.pending.clear();
  }

  sleep(simMs: number): Promise<void> {
    return new Promise((resolve) => {
      if (!this.closed) this.after(simMs, resolve);
      else if (this.afterClose === 'resolve') resolve();
    });
  }

  /** Clears, and settles every later `sleep` as `afterClose` says. */
  close(): void {
    this.closed = true;
    this.clear();
  }
}
