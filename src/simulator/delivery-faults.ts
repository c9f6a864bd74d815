/**
 * Delivery faults every simulator can inject into what it sends our service (webhooks, status callbacks,
 * hooks), next to the duplicates, delays and command errors it already has: reordering, no retries, and
 * lost deliveries of chosen kinds. Random choices come from one seedable generator, so a test can make them
 * repeatable.
 */

export interface DeliveryFaultOptions {
  /**
   * A call's webhooks may overtake each other: each chosen one (all with `true`, else with this probability)
   * leaves the call's in-order lane and waits its own random `reorderDelayMs` before its first attempt.
   */
  reorderWebhooks?: boolean | number;
  /** Real ms each reordered webhook is held back, drawn independently. @default [0, 300] */
  reorderDelayMs?: [number, number];
  /** A delivery answered 5xx (or not at all) is dropped, not retried: jambonz's default, a flaky carrier's. */
  noRetry?: boolean;
  /**
   * Lose deliveries of these kinds with this probability: never sent, recorded as `dropped`. A kind is the
   * carrier's event name (Telnyx `call.hangup`; SignalWire `calling.call.state`, or `calling.call.state:ended`
   * for one state; jambonz `call:status`, or `call:status:completed` for one status).
   */
  dropWebhooks?: { kinds: string[]; probability: number };
  /** Seeds the generator behind these faults' random choices (tests); unseeded uses Math.random. */
  faultSeed?: number;
}

const DEFAULT_REORDER_DELAY_MS: [number, number] = [0, 300];

/** mulberry32: a small, fast, seedable generator of floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The decisions a simulator's delivery code asks for, one per webhook. */
export class DeliveryFaults {
  readonly noRetry: boolean;
  private readonly random: () => number;
  private readonly reorderProbability: number;
  private readonly reorderDelay: [number, number];
  private readonly drop?: { kinds: Set<string>; probability: number };

  constructor(options: DeliveryFaultOptions = {}) {
    this.random = options.faultSeed === undefined ? Math.random : seededRandom(options.faultSeed);
    const reorder = options.reorderWebhooks;
    this.reorderProbability = reorder === true ? 1 : typeof reorder === 'number' ? reorder : 0;
    this.reorderDelay = options.reorderDelayMs ?? DEFAULT_REORDER_DELAY_MS;
    this.noRetry = options.noRetry === true;
    if (options.dropWebhooks && options.dropWebhooks.probability > 0)
      this.drop = { kinds: new Set(options.dropWebhooks.kinds), probability: options.dropWebhooks.probability };
  }

  /** Whether this delivery is lost; `kinds` are the names it answers to (most general first). */
  dropped(kinds: string[]): boolean {
    if (!this.drop || !kinds.some((kind) => this.drop!.kinds.has(kind))) return false;
    return this.random() < this.drop.probability;
  }

  /** The hold-back before a reordered delivery's first attempt, or undefined to keep it in order. */
  reorderDelayMs(): number | undefined {
    if (this.reorderProbability <= 0 || this.random() >= this.reorderProbability) return undefined;
    const [min, max] = this.reorderDelay;
    return min + this.random() * Math.max(0, max - min);
  }
}
