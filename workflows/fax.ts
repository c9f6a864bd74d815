import {
  ApplicationFailure,
  condition,
  log,
  patched,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import {
  CallStatusKey,
  ErrorType,
  FAX_DEFAULTS,
  STATE_LIMITS,
  callEventSignal,
  cancelFaxSignal,
  commandKey,
  failureType,
  faxStateQuery,
  type CallEvent,
  type CallEventOf,
  type EndCause,
  type FaxAttempt,
  type FaxFailure,
  type FaxResult,
  type FaxState,
  type SendFaxInput,
} from '../src/calls';
import type { CallActivities } from '../activities';
import { COMMAND_OPTIONS } from './activity-options';
import { awaitFax, faxEndedFromStatus } from './fax-status';

/**
 * A fax we send, as a workflow of its own (`fax:<id>`). Each attempt asks the carrier to send it: a call
 * with an inline document that sends the fax (`send_fax`) and hangs up (SignalWire), or the carrier's fax API
 * (Telnyx `POST /faxes`, the fax's id standing for the call's). The carrier's events arrive as `callEvent`
 * signals: ringing, answered (or sending started), one per page where the carrier reports pages
 * (`state.pagesSent`), the fax's end with its result (and the carrier's failure reason, if it names one), the
 * call's end. Busy, no answer and a failed negotiation (no page got through) are retried after a durable
 * timer, doubling each time, at most `maxAttempts` attempts in all. A partial transmission is not retried
 * (the far end has some pages; sending again would repeat them).
 *
 * A fax that is the carrier's own resource (Telnyx) and stays quiet is looked up by its id (`GET /faxes/{id}`),
 * so a lost final webhook cannot leave the attempt waiting for its hour (`fax-status.ts`).
 *
 * One attempt never sends two faxes: the dial activity never repeats a request that may have reached the
 * carrier (no idempotency key on dial), and if the dial's outcome is unknown the workflow adopts the call
 * its events reveal instead of dialing again.
 */

const DIAL_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '15 seconds',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '10 seconds',
    maximumAttempts: 5,
    nonRetryableErrorTypes: [
      ErrorType.CarrierRejected,
      ErrorType.Unsupported,
      ErrorType.InvalidCommand,
      ErrorType.DialOutcomeUnknown,
    ],
  },
};
const dialer = proxyActivities<CallActivities>({ ...DIAL_OPTIONS, summary: 'dial fax' });
const commands = proxyActivities<CallActivities>(COMMAND_OPTIONS);

/** How long one attempt may take from dial to the fax's end before it is given up. */
const ATTEMPT_LIMIT_MS = 60 * 60_000;
/** Events of a call can arrive in any order: after the call's end, wait this long for the fax's result. */
const FAX_RESULT_GRACE_MS = 15_000;
/** With the dial's outcome unknown, how long to wait for events of the call it may have placed. */
const UNKNOWN_DIAL_WAIT_MS = 2 * 60_000;
/** Causes of an unanswered call worth another attempt. */
const RETRYABLE_CAUSES: ReadonlySet<EndCause> = new Set(['busy', 'no-answer']);
/**
 * Failure reasons a carrier names (Telnyx) worth another attempt: the same busy and no answer, a failed
 * negotiation (nothing got through) and our own channels exhausted for the moment.
 */
const RETRYABLE_FAX_FAILURES: ReadonlySet<FaxFailure> = new Set(['busy', 'no-answer', 'negotiation', 'congestion']);

/** What one attempt knows about its call. */
interface AttemptCall {
  callId?: string;
  /** The dial failed in a way that may still have placed a call: adopt the first unknown call id. */
  adoptUnknown: boolean;
  answered: boolean;
  pages: number;
  /** The carrier's id of the running fax (its page events carry it), to stop it. */
  faxControlId?: string;
  /** The fax is the carrier's own resource (Telnyx), so its status can be read by `faxControlId`. */
  resource: boolean;
  faxEnded?: CallEventOf<'fax.ended'>;
  callEnded?: CallEventOf<'call.ended'>;
}

export async function sendFaxWorkflow(input: SendFaxInput): Promise<FaxResult> {
  const faxId = workflowInfo().workflowId;
  const maxAttempts = Math.max(1, Math.floor(input.maxAttempts ?? FAX_DEFAULTS.maxAttempts));
  const state: FaxState = {
    faxId,
    provider: input.provider,
    to: input.to,
    from: input.from,
    documentUrl: input.documentUrl,
    status: 'dialing',
    attempt: 0,
    maxAttempts,
    pagesSent: 0,
    attempts: [],
    cancelRequested: false,
    duplicatesIgnored: 0,
  };
  const seen: string[] = [];
  /** Call ids of finished attempts: their late events change nothing. */
  const pastCalls: string[] = [];
  /** Events of a call not yet known (they can beat the dial activity's result). */
  let unclaimed: CallEvent[] = [];
  let current: AttemptCall | undefined;
  let sequence = 0;
  /** Events taken so far: the status check asks only about a fax that went quiet. */
  let heard = 0;

  const setStatus = (status: FaxState['status']) => {
    if (state.status === status) return;
    state.status = status;
    upsertSearchAttributes([{ key: CallStatusKey, value: status }]);
  };
  const record = (): FaxAttempt => state.attempts[state.attempts.length - 1];

  const applyToAttempt = (event: CallEvent) => {
    if (!current) return;
    switch (event.kind) {
      case 'call.ringing':
        if (state.status === 'dialing') setStatus('ringing');
        break;
      case 'call.outgoing':
        // A fax that is the carrier's own resource tags its events with its id (Telnyx); a call's state events
        // carry none (SignalWire). So an adopted fax, whose id the send's lost answer never gave, can be stopped.
        current.faxControlId ??= event.controlId;
        if (event.controlId) current.resource = true;
        break;
      case 'call.answered':
        current.faxControlId ??= event.controlId;
        current.answered = true;
        record().answered = true;
        setStatus('sending');
        break;
      case 'fax.page':
        if (event.direction !== 'send') break;
        current.faxControlId ??= event.controlId;
        current.pages = Math.max(current.pages, event.page);
        state.pagesSent = current.pages;
        record().pagesSent = current.pages;
        break;
      case 'fax.ended':
        current.faxControlId ??= event.controlId;
        current.faxEnded ??= event;
        break;
      case 'call.ended':
        current.callEnded ??= event;
        break;
      default:
        break;
    }
  };

  const onEvent = (event: CallEvent) => {
    try {
      if (seen.includes(event.eventId)) {
        state.duplicatesIgnored++;
        return;
      }
      seen.push(event.eventId);
      if (seen.length > STATE_LIMITS.seenEventIds) seen.shift();
      heard++;
      if (pastCalls.includes(event.callId)) return;
      if (current?.callId === undefined && current?.adoptUnknown) {
        current.callId = event.callId;
        record().callId = event.callId;
      }
      if (current?.callId !== undefined && event.callId === current.callId) applyToAttempt(event);
      else unclaimed = [...unclaimed, event].slice(-50);
    } catch (err) {
      log.warn('fax event could not be applied', { error: (err as Error)?.message });
    }
  };

  const claim = (callId: string) => {
    const mine = unclaimed.filter((e) => e.callId === callId);
    unclaimed = unclaimed.filter((e) => e.callId !== callId);
    for (const event of mine) applyToAttempt(event);
  };

  setHandler(callEventSignal, onEvent);
  setHandler(faxStateQuery, () => state);
  setHandler(cancelFaxSignal, () => {
    state.cancelRequested = true;
  });

  const finish = (result: Omit<FaxResult, 'attempts'>): FaxResult => {
    state.result = { ...result, attempts: state.attempts.length };
    state.nextAttemptAt = undefined;
    setStatus(result.status);
    return state.result;
  };

  /** Ends the attempt's call (cancel, or a limit): stop the fax if it runs, else hang up. */
  const stopCall = async (call: AttemptCall) => {
    if (!call.callId || call.callEnded) return;
    try {
      if (call.faxControlId && !call.faxEnded) {
        await commands.stopFax({
          provider: input.provider,
          callId: call.callId,
          controlId: call.faxControlId,
          direction: 'send',
        });
      } else {
        await commands.sendCallCommand({
          op: 'hangup',
          provider: input.provider,
          callId: call.callId,
          commandKey: commandKey(faxId, ++sequence),
          ownerWorkflowId: faxId,
        });
      }
    } catch (err) {
      if (failureType(err) !== ErrorType.CallGone)
        log.warn('could not stop the fax call', { error: (err as Error)?.message });
    }
  };

  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    if (state.cancelRequested) break;
    state.attempt = attempt;
    state.pagesSent = 0;
    state.nextAttemptAt = undefined;
    state.attempts = [
      ...state.attempts,
      { attempt, startedAt: new Date().toISOString(), answered: false, pagesSent: 0 },
    ];
    setStatus('dialing');
    const call: AttemptCall = { adoptUnknown: false, answered: false, pages: 0, resource: false };
    current = call;

    try {
      const placed = await dialer.placeFaxCall({
        provider: input.provider,
        to: input.to,
        from: input.from,
        documentUrl: input.documentUrl,
        headerInfo: input.headerInfo,
        identity: input.identity,
        ownerWorkflowId: faxId,
        timeoutSeconds: input.ringTimeoutSeconds ?? FAX_DEFAULTS.ringTimeoutSeconds,
      });
      call.callId = placed.callId;
      // A fax that is the carrier's own resource (Telnyx) is stopped by its id from the start, not by hanging up.
      call.faxControlId ??= placed.faxControlId;
      if (placed.faxControlId) call.resource = true;
      record().callId = placed.callId;
      claim(placed.callId);
    } catch (err) {
      const type = failureType(err);
      if (type === ErrorType.DialOutcomeUnknown) {
        // The call may exist: never dial again for this attempt; take the call whose events turn up.
        call.adoptUnknown = true;
        const first = unclaimed[0];
        if (first) {
          call.callId = first.callId;
          record().callId = first.callId;
          claim(first.callId);
        }
        if (!(await condition(() => call.callId !== undefined, UNKNOWN_DIAL_WAIT_MS))) {
          Object.assign(record(), {
            endedAt: new Date().toISOString(),
            outcome: 'dial outcome unknown',
            retryable: false,
          });
          return finish({
            status: 'failed',
            success: false,
            pages: 0,
            resultText: 'dial outcome unknown; not dialing again',
          });
        }
      } else {
        const message = ((err as { cause?: Error }).cause ?? (err as Error))?.message ?? String(err);
        Object.assign(record(), {
          endedAt: new Date().toISOString(),
          outcome: `dial failed: ${message}`,
          retryable: false,
        });
        // A refused dial (bad number, bad request) stays refused; an unreachable carrier ran out of retries.
        return finish({ status: 'failed', success: false, pages: 0, resultText: `dial failed: ${message}` });
      }
    }

    // The attempt runs until the fax ends, the call ends, a cancel, or the limit.
    const over = () => call.faxEnded !== undefined || call.callEnded !== undefined;
    const settled = () => over() || state.cancelRequested;
    let settledInTime: boolean;
    // Histories recorded before the status check replay the plain wait.
    if (call.resource && patched('fax-status-check')) {
      const report = await awaitFax({
        provider: input.provider,
        faxId: () => call.faxControlId,
        heard: () => heard,
        settled,
        limitMs: ATTEMPT_LIMIT_MS,
        liveness: input.liveness,
      });
      if (report && call.faxControlId)
        call.faxEnded ??= faxEndedFromStatus(report, input.provider, call.faxControlId, call.pages);
      settledInTime = settled();
    } else {
      settledInTime = await condition(settled, ATTEMPT_LIMIT_MS);
    }
    if (!settledInTime) {
      await stopCall(call);
      await condition(over, FAX_RESULT_GRACE_MS);
    }
    if (state.cancelRequested && !over()) {
      await stopCall(call);
      await condition(over, FAX_RESULT_GRACE_MS);
    }
    if (call.callEnded && !call.faxEnded && call.answered)
      await condition(() => call.faxEnded !== undefined, FAX_RESULT_GRACE_MS);
    if (call.callId) pastCalls.push(call.callId);
    current = undefined;

    const attemptRecord = record();
    attemptRecord.endedAt = new Date().toISOString();
    const fax = call.faxEnded;
    if (fax?.success) {
      Object.assign(attemptRecord, {
        outcome: 'sent',
        resultCode: fax.resultCode,
        resultText: fax.resultText,
        pagesSent: fax.pages,
        retryable: false,
      });
      state.pagesSent = fax.pages;
      return finish({
        status: 'succeeded',
        success: true,
        pages: fax.pages,
        resultCode: fax.resultCode,
        resultText: fax.resultText,
        remoteIdentity: fax.remoteIdentity,
        callId: call.callId,
      });
    }
    if (state.cancelRequested) {
      Object.assign(attemptRecord, {
        outcome: 'cancelled',
        retryable: false,
        resultCode: fax?.resultCode,
        resultText: fax?.resultText,
      });
      return finish({
        status: 'cancelled',
        success: false,
        pages: call.pages,
        resultCode: fax?.resultCode,
        resultText: fax?.resultText,
        callId: call.callId,
      });
    }

    let retryable: boolean;
    let outcome: string;
    if (fax?.failure) {
      // The carrier named the reason: retry what another attempt can change, never after pages went out.
      retryable = RETRYABLE_FAX_FAILURES.has(fax.failure) && call.pages === 0;
      outcome = fax.resultText ?? fax.failure;
    } else if (fax) {
      // A negotiation failure (nothing got through) is worth another try; a broken transmission is not.
      retryable = fax.pages === 0 && call.pages === 0;
      outcome = fax.resultText ?? `fax failed (${fax.resultCode ?? 'no result code'})`;
    } else if (call.callEnded && !call.answered) {
      retryable = RETRYABLE_CAUSES.has(call.callEnded.cause);
      outcome = call.callEnded.cause;
    } else if (call.callEnded) {
      retryable = call.pages === 0;
      outcome = 'call ended before the fax finished';
    } else {
      retryable = false;
      outcome = 'no outcome in time';
    }
    Object.assign(attemptRecord, {
      outcome,
      retryable,
      resultCode: fax?.resultCode,
      resultText: fax?.resultText,
      pagesSent: call.pages,
    });

    if (!retryable || attempt === maxAttempts) {
      return finish({
        status: 'failed',
        success: false,
        pages: fax?.pages ?? call.pages,
        resultCode: fax?.resultCode,
        resultText: fax?.resultText ?? outcome,
        remoteIdentity: fax?.remoteIdentity,
        callId: call.callId,
      });
    }

    // Durable backoff: a timer in the workflow's history, so a restart neither shortens nor repeats it.
    const delayMs = (input.retryDelaySeconds ?? FAX_DEFAULTS.retryDelaySeconds) * 1000 * 2 ** (attempt - 1);
    state.nextAttemptAt = new Date(Date.now() + delayMs).toISOString();
    setStatus('waiting-to-retry');
    await condition(() => state.cancelRequested, delayMs);
  }

  if (state.cancelRequested) return finish({ status: 'cancelled', success: false, pages: 0 });
  throw ApplicationFailure.nonRetryable('fax attempts ran out without an outcome', ErrorType.FaxFailed);
}
