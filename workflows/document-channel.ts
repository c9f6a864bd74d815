import { condition, patched } from '@temporalio/workflow';
import { readControlId, type CallCommand, type CallOp, type DocumentReply, type DocumentRequest } from '../src/calls';
import type { PendingOperation } from './event-ledger';

/**
 * The document-carrier protocol (SignalWire, jambonz), and the one place that knows it. Those carriers do
 * not take commands: they fetch the call's next document (the `nextDocument` update), run it, and come back
 * with a hand-back when a step is done. Commands wait in the outbox for the next fetch; a carrier running a
 * holding document is redirected so it fetches now. The channel also answers the questions the flow API
 * asks about the carrier family (`reportsDigitsInResult`, `dialBridges`, ...), so the session has no
 * family `if`s of its own.
 */

/** How many superseded steps the channel remembers: enough for the few a redirect can kill at once. */
const SUPERSEDED_KEPT = 8;

/** What a document carrier is doing with the call, as far as the session knows. */
type CarrierActivity =
  /** A fetch is waiting in `nextDocument` for the flow's next commands. */
  | 'fetching'
  /** Running a document we gave it; it will come back with a hand-back when done. */
  | 'running'
  /** Running a holding document: it comes back only when the hold runs out, unless redirected. */
  | 'holding';

/** What the channel needs from the session, as plain callbacks. */
export interface DocumentChannelHooks {
  ended(): boolean;
  answered(): boolean;
  /** The operation waiting under this command key, if any (the channel marks its document step's progress). */
  waiting(commandKey: string): PendingOperation | undefined;
  /**
   * Sends the carrier a `redirect` command so it fetches the next document now. `named` gets the redirect's
   * command key before the command goes out: the fetch it causes can arrive before the activity completes.
   */
  sendRedirect(named: (redirectKey: string) => void): Promise<void>;
}

export class DocumentChannel {
  /** Operations this carrier takes only as documents (`CallSessionInput['documentOps']`). */
  private readonly documentOps: ReadonlySet<string>;
  private outbox: CallCommand[] = [];
  private fetchesWaiting = 0;
  private carrierActivity: CarrierActivity = 'running';
  /** Set while continuing-as-new: waiting fetches answer at once (with a hold) so handlers can finish. */
  private draining = false;
  /**
   * The redirect sent and not yet answered by a fetch, and the commands handed to other fetches meanwhile.
   * A fetch already on its way (a hold running out) can take commands that the redirect then cuts short;
   * when the redirect's own fetch arrives, those are queued again.
   */
  private redirecting?: { key: string; deliveredSince: CallCommand[] };
  /** The command keys of the document the carrier was last given: the steps it is running now. */
  private runningKeys: readonly string[] = [];
  /** Steps a redirect's document replaced while the carrier ran them (the newest few): their reports come late. */
  private superseded: string[] = [];

  constructor(
    documentOps: readonly CallOp[] | undefined,
    private readonly hooks: DocumentChannelHooks,
  ) {
    this.documentOps = new Set(documentOps ?? []);
  }

  // ---------------------------------------------------------------------------------------------
  // The carrier family, as the flow API asks about it.

  /** Whether this operation travels in a document rather than as a command. */
  carries(op: string): boolean {
    return this.documentOps.has(op);
  }

  /** A document carrier: the session's steps run as documents the carrier fetches. */
  get runsDocuments(): boolean {
    return this.documentOps.size > 0;
  }

  /**
   * Telnyx's hangup source tells the far end from our own hangup; jambonz reports a Live Call Control hangup as the
   * caller's, and SignalWire names no source.
   */
  get tellsWhoHungUp(): boolean {
    return this.documentOps.size === 0;
  }

  /** Document carriers report a prompt's digits only in its result; Telnyx reports each key as a `dtmf` too. */
  get reportsDigitsInResult(): boolean {
    return this.documentOps.size > 0;
  }

  /** The carrier dials and bridges in one step (`connect`): an answered leg is already bridged to the caller. */
  get dialBridges(): boolean {
    return this.documentOps.has('connect');
  }

  /**
   * When a bridge ends, the caller comes back to the flow (the document goes on after `connect`); on
   * Telnyx both legs end.
   */
  get bridgeEndReturnsCaller(): boolean {
    return this.documentOps.size > 0;
  }

  // ---------------------------------------------------------------------------------------------
  // The protocol.

  /**
   * Queues a command for the carrier's next fetch. Returns the redirect sent when the carrier is holding
   * the call (so it fetches now rather than when the hold runs out); the caller awaits it.
   */
  post(command: CallCommand): Promise<void> | undefined {
    this.outbox.push(command);
    if (this.fetchesWaiting === 0 && this.carrierActivity === 'holding' && this.hooks.answered()) {
      return this.hooks.sendRedirect((key) => {
        this.carrierActivity = 'running';
        this.redirecting = { key, deliveredSince: [] };
      });
    }
    return undefined;
  }

  /**
   * The step the carrier runs belongs to a flow that is gone (a redirect to another flow): the next command
   * must not wait for that step to finish, so it redirects the carrier as it would from a holding document.
   */
  abandonStep(): void {
    if (this.carrierActivity === 'running') this.carrierActivity = 'holding';
  }

  /** Takes a command out of the outbox once its operation is over (it is no longer worth delivering). */
  withdraw(commandKey: string): void {
    this.outbox = this.outbox.filter((c) => c.commandKey !== commandKey);
  }

  /** Continue-as-new is next: waiting fetches answer at once, so the update handlers can finish. */
  drain(): void {
    this.draining = true;
  }

  /**
   * A document carrier asks what to do next (the `nextDocument` update), after the session applied the
   * events the request carried. Marks the step it handed back as done, then waits, up to `waitMs`, for the
   * flow to queue commands.
   */
  async nextDocument(request: DocumentRequest): Promise<DocumentReply> {
    if (request.handedBack) {
      const step = this.hooks.waiting(request.handedBack);
      // Only the hand-back of the copy that counts: a cut-short copy's hand-back is stale (see `deliveryControlId`).
      if (step && readControlId(request.handedBack).delivery === (step.delivery ?? 0)) step.handedBack = true;
      // The killed copy reports after the copy delivered again is running (jambonz calls a verb's actionHook when
      // a redirect kills it): any verbs in the answer would replace the running copy, which would then never
      // report, and the flow would hold the caller until the operation's timeout. Let the carrier carry on.
      else if (step?.delivered && !step.handedBack && step.event === undefined && patched('stale-hand-back-carries-on'))
        return { kind: 'continue' };
    }
    const redirect = this.redirecting;
    const answersRedirect =
      redirect !== undefined && (request.redirectedBy === redirect.key || request.handedBack === redirect.key);
    // The hand-back of a step that a redirect's document replaced (a consult's hold music when the caller joins
    // the room, a room the caller leaves for a blind transfer): jambonz calls the killed verb's actionHook after
    // the redirect's fetch, and an answer here would replace the newer document the carrier runs now. The step
    // is done (marked above); the carrier carries on.
    const handedBackKey = request.handedBack && readControlId(request.handedBack).commandKey;
    if (
      handedBackKey &&
      !answersRedirect &&
      this.carrierActivity === 'running' &&
      this.superseded.includes(handedBackKey) &&
      !this.runningKeys.includes(handedBackKey) &&
      patched('superseded-hand-back-carries-on')
    )
      return { kind: 'continue' };
    if (answersRedirect) {
      this.redirecting = undefined;
      const cutShort = redirect.deliveredSince.filter((command) => {
        const waiter = this.hooks.waiting(command.commandKey);
        return waiter !== undefined && !waiter.handedBack && waiter.event === undefined;
      });
      // Delivered again under a new delivery number, so a report of the killed copy is not taken as its outcome.
      const again = cutShort.map((command) => ({ ...command, delivery: (command.delivery ?? 0) + 1 }));
      for (const command of again) {
        const waiter = this.hooks.waiting(command.commandKey);
        if (waiter) Object.assign(waiter, { delivered: false, delivery: command.delivery });
      }
      this.outbox = [...again, ...this.outbox];
    }
    if (this.hooks.ended()) return { kind: 'hangup' };
    // Workflow time: when this task started. A request that comes too late for its reply to be read is a hold.
    const budgetMs =
      request.answerBy === undefined ? request.waitMs : Math.min(request.waitMs, request.answerBy - Date.now());
    this.fetchesWaiting++;
    this.carrierActivity = 'fetching';
    try {
      if (budgetMs > 0) {
        await condition(() => this.outbox.length > 0 || this.hooks.ended() || this.draining, budgetMs, {
          summary: 'carrier waits for the next document',
        });
      }
    } finally {
      this.fetchesWaiting--;
    }
    const unread = request.answerBy !== undefined && Date.now() >= request.answerBy;
    if (this.outbox.length > 0 && !unread) {
      const commands = this.outbox;
      this.outbox = [];
      for (const command of commands) {
        const waiter = this.hooks.waiting(command.commandKey);
        if (waiter) waiter.delivered = true;
      }
      // Not the redirect's own fetch: the redirect may cut these short (see `redirecting`).
      if (this.redirecting && !answersRedirect) this.redirecting.deliveredSince.push(...commands);
      this.carrierActivity = 'running';
      const keys = commands.map((command) => command.commandKey);
      // A redirect's document replaces whatever the carrier ran (see `superseded`).
      if (answersRedirect)
        this.superseded = [...this.superseded, ...this.runningKeys.filter((key) => !keys.includes(key))].slice(
          -SUPERSEDED_KEPT,
        );
      this.runningKeys = keys;
      return { kind: 'commands', commands };
    }
    if (this.hooks.ended()) return { kind: 'hangup' };
    if (this.fetchesWaiting === 0) this.carrierActivity = 'holding';
    return { kind: 'hold' };
  }
}
