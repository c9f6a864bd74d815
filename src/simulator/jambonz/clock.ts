/**
 * Simulated time: scripts and verbs speak in simulated milliseconds, which `timeScale` turns into real
 * ones; durations jambonz reports (call `duration`, `dial_call_duration`, `queue_time`, playback) are given
 * back in simulated seconds, so a fast test still reports the lengths its script describes.
 */
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
}

/** Timers in simulated time that can all be cancelled at once (when the simulator closes). */
export class Timers {
  private readonly pending = new Set<NodeJS.Timeout>();

  constructor(private readonly clock: SimClock) {}

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

  clear(): void {
    for (const timer of this.pending) clearTimeout(timer);
    this.pending.clear();
  }
}
