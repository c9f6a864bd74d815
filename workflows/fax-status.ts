import { condition, log, proxyActivities } from '@temporalio/workflow';
import { FAX_LIVENESS, type CallEventOf, type FaxLiveness, type FaxStatusReport, type Provider } from '../src/calls';
import type { CallActivities } from '../activities';
import { COMMAND_OPTIONS } from './activity-options';

/**
 * Reconciliation of faxes that are the carrier's own resources (Telnyx Programmable Fax): a fax that stays
 * quiet is looked up by its id, so a lost final webhook (`fax.delivered`, `fax.received`, `fax.failed`) cannot
 * leave its workflow waiting. Like a call session's liveness check, a chatty fax is never asked about.
 */

const status = proxyActivities<CallActivities>({ ...COMMAND_OPTIONS, summary: 'fax status' });

export interface FaxWait {
  provider: Provider;
  /** The carrier's id of the fax, once known. */
  faxId: () => string | undefined;
  /** Events heard so far: a change since the last look means the fax is not quiet. */
  heard: () => number;
  /** The fax is over (its final event arrived) or no longer wanted. */
  settled: () => boolean;
  limitMs: number;
  liveness?: FaxLiveness;
}

/**
 * Waits until `settled()` or `limitMs` has passed. Whenever no event arrived for a quiet period (doubling up to
 * the maximum) it asks the carrier about the fax: a final status there is returned (its webhook was lost).
 * Returns undefined when settled or at the limit.
 */
export async function awaitFax(wait: FaxWait): Promise<FaxStatusReport | undefined> {
  const { firstQuietMs, maxQuietMs } = wait.liveness ?? FAX_LIVENESS;
  const deadline = Date.now() + wait.limitMs;
  let quietMs = firstQuietMs;
  for (;;) {
    const remaining = deadline - Date.now();
    if (remaining <= 0) return undefined;
    const heardBefore = wait.heard();
    if (await condition(wait.settled, Math.min(quietMs, remaining))) return undefined;
    const faxId = wait.faxId();
    if (wait.heard() !== heardBefore || !faxId) {
      quietMs = firstQuietMs;
      continue;
    }
    try {
      const report = await status.fetchFaxStatus({ provider: wait.provider, faxId });
      if (report.final) return report;
    } catch (err) {
      // The carrier did not answer (its retries ran out): ask again after the next quiet period.
      log.warn('fax status check failed', { error: (err as Error)?.message });
    }
    quietMs = Math.min(quietMs * 2, maxQuietMs);
  }
}

/** The `fax.ended` event a final status stands for, marked as read from the status, not from a webhook. */
export function faxEndedFromStatus(
  report: FaxStatusReport,
  provider: Provider,
  faxId: string,
  pages: number,
): CallEventOf<'fax.ended'> {
  return {
    kind: 'fax.ended',
    provider,
    eventId: `fax-status:${faxId}:${report.status}`,
    callId: faxId,
    controlId: faxId,
    occurredAt: new Date().toISOString(),
    success: report.success === true,
    pages,
    resultCode: report.resultCode,
    resultText: `${report.resultText ?? report.status} (from the fax's status: its final webhook never came)`,
    ...(report.documentUrl ? { documentUrl: report.documentUrl } : {}),
    ...(report.failure ? { failure: report.failure } : {}),
  };
}
