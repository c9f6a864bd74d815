import { allHandlersFinished, condition, continueAsNew } from '@temporalio/workflow';
import {
  CallEnded,
  type CallEvent,
  type CallEventBase,
  type CallEventOf,
  type CallEventKind,
  type CallSessionInput,
  type DialOptions,
  type EndCause,
  type GatherOptions,
  type GatherEndReason,
  type Prompt,
  type RecordOptions,
} from '../src/calls';
import { SessionEngine, shouldContinueAsNew } from './session-engine';

/**
 * The flow API: what a flow can do with its call. One `CallSession` per workflow run, built on the
 * `SessionEngine` (events in through the `EventLedger`, commands out as activities or document steps through
 * the `DocumentChannel`). Each operation issues its command and resolves on its own terminal event.
 */

/** SignalWire reports speech as playback, so either event ends a `say` (on every carrier, as recorded histories wait). */
const SPEECH_ENDS: readonly CallEventKind[] = ['speak.ended', 'playback.ended'];

export interface GatherResult {
  digits: string;
  reason: GatherEndReason;
  speech?: { text: string; confidence?: number };
}

export interface RecordingResult {
  url?: string;
  durationMs?: number;
  /** False when the recording failed or never reported back. */
  saved: boolean;
}

/** A fax's result as the carrier's `fax.ended` event reports it (`documentUrl`: sent, or where the received one is kept). */
export type FaxOutcome = Omit<CallEventOf<'fax.ended'>, keyof CallEventBase | 'kind'>;

export interface DialResult {
  answered: boolean;
  /** The carrier's id of the new leg. */
  callId: string;
  /** Why the leg ended, when it did not answer. */
  endCause?: EndCause;
}

export class CallSession extends SessionEngine {
  /** Answers an inbound call; resolves once the carrier reports it answered. */
  async answer(): Promise<void> {
    if (this.state.answeredAt && !this.ended) return;
    const event = await this.command({ op: 'answer' }, { terminal: ['call.answered'], timeoutMs: 30_000 });
    if (!event && !this.ended && !this.state.answeredAt) {
      // A document carrier handed the answer step back without a separate answered event.
      this.state.answeredAt = new Date().toISOString();
      this.setStatus('answered');
    }
  }

  /** Hangs up; resolves once the call has ended (also if it already had). */
  async hangup(): Promise<void> {
    if (this.ended || !this.state.callId) return;
    try {
      await this.command({ op: 'hangup' }, { terminal: ['call.ended'], timeoutMs: 30_000 });
    } catch (err) {
      if (!(err instanceof CallEnded)) throw err;
    }
  }

  /** Refuses an unanswered inbound call. */
  async reject(reason: 'busy' | 'rejected' = 'rejected'): Promise<void> {
    try {
      await this.command({ op: 'reject', reason }, { terminal: ['call.ended'], timeoutMs: 30_000 });
    } catch (err) {
      if (!(err instanceof CallEnded)) throw err;
    }
  }

  /** Speaks text; resolves when it has finished playing. */
  async say(text: string, options: { voice?: string; language?: string } = {}): Promise<void> {
    await this.command(
      { op: 'say', text, ...options },
      { terminal: SPEECH_ENDS, timeoutMs: 60_000 + text.length * 150 },
    );
  }

  /** Plays an audio URL; resolves when it has finished. */
  async play(url: string, options: { loop?: number } = {}): Promise<void> {
    await this.command({ op: 'play', url, ...options }, { terminal: ['playback.ended'], timeoutMs: 10 * 60_000 });
  }

  async stopPlayback(): Promise<void> {
    await this.command({ op: 'stopPlayback', ...this.targetOf(['play', 'say']) });
  }

  /** Collects digits, optionally after a spoken or played prompt. */
  async gather(options: GatherOptions = {}): Promise<GatherResult> {
    const promptAllowanceMs =
      options.prompt && 'say' in options.prompt ? 30_000 + options.prompt.say.length * 150 : 120_000;
    const waitMs =
      promptAllowanceMs +
      (options.timeoutMs ?? 5000) +
      (options.maxDigits ?? 1) * (options.interDigitTimeoutMs ?? 3000);
    const event = await this.command({ op: 'gather', ...options }, { terminal: ['gather.ended'], timeoutMs: waitMs });
    if (event?.kind !== 'gather.ended') return { digits: '', reason: 'timeout' };
    return { digits: event.digits, reason: event.reason, ...(event.speech ? { speech: event.speech } : {}) };
  }

  /** Convenience: `gather` with a prompt. */
  async ask(prompt: Prompt, options: Omit<GatherOptions, 'prompt'> = {}): Promise<GatherResult> {
    return this.gather({ ...options, prompt });
  }

  async stopGather(): Promise<void> {
    await this.command({ op: 'stopGather', ...this.targetOf(['gather']) });
  }

  /**
   * Records until silence, the time limit or a hang-up, and resolves with the saved recording. A caller
   * hanging up ends a voicemail: the recording is still awaited, then later operations fail with `CallEnded`.
   */
  async record(options: RecordOptions = {}): Promise<RecordingResult> {
    this.ledger.recordingInProgress = true;
    const event = await this.command(
      { op: 'recordStart', ...options },
      {
        terminal: ['recording.saved', 'recording.failed'],
        timeoutMs: ((options.maxSeconds ?? 120) + 60) * 1000,
        afterHangupMs: 60_000,
      },
    );
    this.ledger.recordingInProgress = false;
    if (event?.kind === 'recording.saved') return { saved: true, url: event.url, durationMs: event.durationMs };
    return { saved: false };
  }

  /** Starts recording in the background (the whole call, say); `stopRecording` or hang-up ends it. */
  async startRecording(options: RecordOptions = {}): Promise<void> {
    this.ledger.recordingInProgress = true;
    await this.command({ op: 'recordStart', ...options });
  }

  async stopRecording(): Promise<RecordingResult> {
    const event = await this.command(
      { op: 'recordStop', ...this.targetOf(['recordStart']) },
      { terminal: ['recording.saved', 'recording.failed'], timeoutMs: 60_000 },
    );
    return event?.kind === 'recording.saved'
      ? { saved: true, url: event.url, durationMs: event.durationMs }
      : { saved: false };
  }

  async pauseRecording(): Promise<void> {
    await this.command({ op: 'recordPause', ...this.targetOf(['recordStart']) });
  }

  async resumeRecording(): Promise<void> {
    await this.command({ op: 'recordResume', ...this.targetOf(['recordStart']) });
  }

  /**
   * Places a new leg owned by this session; resolves when it answers or ends. On a document carrier the
   * carrier dials and bridges in one step, so an answered leg is already bridged to the caller.
   */
  async dial(options: DialOptions): Promise<DialResult> {
    this.requirePrimary('dial');
    if (this.channel.dialBridges) {
      const event = await this.command(
        {
          op: 'connect',
          to: options.to,
          from: options.from ?? this.state.to,
          timeoutSeconds: options.timeoutSeconds ?? 30,
        },
        { terminal: ['bridged', 'unbridged'], timeoutMs: ((options.timeoutSeconds ?? 30) + 30) * 1000 },
      );
      if (event?.kind === 'bridged') return { answered: true, callId: event.otherCallId ?? '' };
      const agent = this.state.legs.find((l) => l.role === 'agent' && l.status === 'ended');
      return { answered: false, callId: agent?.callId ?? '', endCause: agent?.endCause ?? 'no-answer' };
    }
    const { seq, key } = this.begin('dial', '');
    try {
      const { callId, waiter } = await this.placeLeg('agent', seq, key, {
        ...options,
        from: options.from ?? this.state.to,
      });
      try {
        const event = await this.awaitTerminal(waiter, ((options.timeoutSeconds ?? 30) + 30) * 1000);
        const result: DialResult =
          event?.kind === 'call.answered'
            ? { answered: true, callId }
            : { answered: false, callId, endCause: event?.kind === 'call.ended' ? event.cause : 'no-answer' };
        this.finish(seq, result.answered ? 'answered' : `not answered (${result.endCause})`);
        return result;
      } finally {
        this.ledger.pending.splice(this.ledger.pending.indexOf(waiter), 1);
      }
    } catch (err) {
      this.finish(seq, (err as Error).name ?? 'failed');
      throw err;
    }
  }

  /** Hangs up a leg this session placed (not the caller). */
  async hangupLeg(callId: string): Promise<void> {
    const leg = this.state.legs.find((l) => l.callId === callId);
    if (!leg || leg.status === 'ended') return;
    await this.command({ op: 'hangup' }, { callId, terminal: ['call.ended'], timeoutMs: 30_000 });
  }

  /** Connects the caller with another leg; resolves once the carrier reports the bridge. */
  async bridge(otherCallId: string): Promise<void> {
    // Already bridged by `dial`.
    if (this.state.status === 'bridged' && this.channel.dialBridges) return;
    await this.command({ op: 'bridge', otherCallId }, { terminal: ['bridged'], timeoutMs: 30_000 });
  }

  /** Transfers the caller to a new destination (a new leg bridged by the carrier). */
  async transfer(to: string, options: { from?: string; timeoutSeconds?: number } = {}): Promise<void> {
    await this.command(
      { op: 'transfer', to, ...options },
      { terminal: ['bridged'], timeoutMs: ((options.timeoutSeconds ?? 30) + 30) * 1000 },
    );
  }

  async sendDtmf(digits: string): Promise<void> {
    await this.command({ op: 'sendDtmf', digits });
  }

  /** Puts the caller in the carrier's named queue; resolves when the carrier confirms. */
  async enqueue(queue: string, options: { maxWaitSeconds?: number } = {}): Promise<void> {
    await this.command({ op: 'enqueue', queue, ...options }, { terminal: ['queue.joined'], timeoutMs: 30_000 });
  }

  async leaveQueue(): Promise<void> {
    await this.command({ op: 'leaveQueue' }, { terminal: ['queue.left'], timeoutMs: 30_000 });
  }

  async startFork(target: { rx?: string; tx?: string }): Promise<void> {
    await this.command({ op: 'forkStart', ...target }, { terminal: ['fork.started'], timeoutMs: 30_000 });
  }

  async stopFork(): Promise<void> {
    await this.command(
      { op: 'forkStop', ...this.targetOf(['forkStart']) },
      { terminal: ['fork.stopped'], timeoutMs: 30_000 },
    );
  }

  /** Sends a fax on this call (document carriers only; Telnyx fails with `Unsupported`). Pages show in `state.fax`. */
  async sendFax(documentUrl: string, options: { headerInfo?: string; identity?: string } = {}): Promise<FaxOutcome> {
    return this.faxOutcome(
      await this.command(
        { op: 'sendFax', documentUrl, ...options },
        { terminal: ['fax.ended'], timeoutMs: 30 * 60_000 },
      ),
    );
  }

  /** Receives a fax on this call; the outcome names the received document's URL. Pages show in `state.fax`. */
  async receiveFax(): Promise<FaxOutcome> {
    return this.faxOutcome(
      await this.command({ op: 'receiveFax' }, { terminal: ['fax.ended'], timeoutMs: 30 * 60_000 }),
    );
  }

  private faxOutcome(event: CallEvent | undefined): FaxOutcome {
    if (event?.kind !== 'fax.ended')
      return { success: false, pages: this.state.fax?.pagesDone ?? 0, resultText: 'no fax result' };
    const { success, pages, resultCode, resultText, remoteIdentity, documentUrl } = event;
    return { success, pages, resultCode, resultText, remoteIdentity, documentUrl };
  }

  /**
   * Waits until the call ends (a bridged call, a caller on hold), continuing-as-new as needed so a
   * four-hour call stays within history limits. `step` is where the flow resumes in the next run.
   */
  async waitForHangup(step = 'waitForHangup'): Promise<void> {
    const bridged = this.state.status === 'bridged' && this.channel.bridgeEndReturnsCaller;
    const over = () => this.ended || (bridged && this.state.status !== 'bridged');
    for (;;) {
      await condition(() => over() || shouldContinueAsNew(this.input));
      if (over()) return;
      await this.checkpoint(step);
    }
  }

  /**
   * A point where the flow can be resumed from plain data. If Temporal suggests continue-as-new, the run
   * ends here and the next run calls the flow again with `resume = { step, data }`.
   */
  async checkpoint(step: string, data?: Record<string, unknown>): Promise<void> {
    if (this.ended || !shouldContinueAsNew(this.input) || this.ledger.pending.length > 0) return;
    this.stopWatching();
    this.channel.drain();
    await condition(allHandlersFinished);
    const { state, seenEventIds, pendingEvents } = this.ledger.carried();
    await continueAsNew<(input: CallSessionInput) => Promise<unknown>>({
      ...this.input,
      callId: this.state.callId,
      carried: {
        state,
        seenEventIds,
        nextSequence: this.nextSequence,
        checkpoint: { step, ...(data ? { data } : {}) },
        pendingEvents,
      },
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Session lifecycle, used by the workflow function.

  /** Places the primary leg of an outbound call and waits for it to answer or fail. */
  async placePrimary(options: DialOptions): Promise<DialResult> {
    const { seq, key } = this.begin('dial', '');
    const { callId, waiter } = await this.placeLeg('primary', seq, key, {
      ...options,
      from: options.from ?? this.state.from,
    });
    try {
      if (!this.ended) this.setStatus(this.state.answeredAt ? this.state.status : 'ringing');
      await condition(() => waiter.event !== undefined || this.ended, ((options.timeoutSeconds ?? 30) + 60) * 1000, {
        summary: `dialing ${options.to}`,
      });
      const event = waiter.event;
      if (event?.kind === 'call.answered' && !this.ended) {
        this.finish(seq, 'answered');
        return { answered: true, callId };
      }
      if (!this.ended) this.markEnded(event?.kind === 'call.ended' ? event.cause : 'no-answer');
      this.finish(seq, `not answered (${this.state.endCause})`);
      return { answered: false, callId, endCause: this.state.endCause };
    } finally {
      this.ledger.pending.splice(this.ledger.pending.indexOf(waiter), 1);
    }
  }

  /** After the flow: hang up if it did not, and give a running recording a moment to report back. */
  async close(): Promise<void> {
    // The watchdog keeps the hang-up's own wait bounded, then stops.
    if (!this.ended) await this.hangup();
    this.stopWatching();
    if (this.ledger.recordingInProgress)
      await condition(() => !this.ledger.recordingInProgress, 60_000, { summary: 'waiting for the recording' });
    this.state.currentOperation = undefined;
    this.publishDetails();
  }

  /** Marks the call failed for reasons outside the carrier (a flow bug); the call is hung up. */
  noteFlowError(err: unknown): void {
    const message = `flow failed: ${(err as Error)?.message ?? String(err)}`;
    this.ledger.noteError(message);
  }
}
