/** Waiting in the simulator tests: for something to arrive at a test's own service, or for a condition. */

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What a test service received: each arrival calls `notify()`, and `waitFor` looks again after each one. */
export class Arrivals {
  private readonly waiters: Array<() => void> = [];

  notify(): void {
    this.waiters.splice(0).forEach((wake) => wake());
  }

  /** The first defined answer of `find`, looked for now and after every arrival; throws after `timeoutMs`. */
  async waitFor<T>(find: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = find();
      if (found !== undefined) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}

/** Polls `condition` every 5 ms until it holds; throws after `timeoutMs`. */
export async function waitUntil(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(5);
  }
}
