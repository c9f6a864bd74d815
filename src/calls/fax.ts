import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { Provider } from './ids';

/**
 * Faxes we send: one `sendFaxWorkflow` per fax (`fax:<id>`), shared by the gateway (a Temporal client)
 * and the workflow. The fax call's carrier events reach the workflow as `callEvent` signals, like a call
 * session's: the gateway routes them by the `wf` in the callback URL.
 */

export const SEND_FAX_WORKFLOW = 'sendFaxWorkflow';

export interface SendFaxInput {
  provider: Provider;
  to: string;
  from: string;
  /** URL of the PDF to send; the carrier fetches it. */
  documentUrl: string;
  /** The header line printed on each page. */
  headerInfo?: string;
  /** Our station identity; the carrier defaults it to `from`. */
  identity?: string;
  /** Attempts in all, first included, for retryable outcomes (busy, no answer, negotiation failure). @default 3 */
  maxAttempts?: number;
  /** Wait before the second attempt; it doubles for each later one. @default 60 */
  retryDelaySeconds?: number;
  /** Ring time of each attempt. @default 60 */
  ringTimeoutSeconds?: number;
}

export const FAX_DEFAULTS = { maxAttempts: 3, retryDelaySeconds: 60, ringTimeoutSeconds: 60 } as const;

export type FaxStatus = 'dialing' | 'ringing' | 'sending' | 'waiting-to-retry' | 'succeeded' | 'failed' | 'cancelled';

export interface FaxAttempt {
  attempt: number;
  /** The carrier's id of the fax call, once known. */
  callId?: string;
  startedAt: string;
  endedAt?: string;
  answered: boolean;
  pagesSent: number;
  /** How the attempt ended, in words: `sent`, `busy`, `no-answer`, a fax result text, ... */
  outcome?: string;
  resultCode?: string;
  resultText?: string;
  /** Whether this outcome is worth another attempt. */
  retryable?: boolean;
}

export interface FaxResult {
  status: 'succeeded' | 'failed' | 'cancelled';
  success: boolean;
  /** Pages the receiving machine confirmed (in the last attempt). */
  pages: number;
  resultCode?: string;
  resultText?: string;
  remoteIdentity?: string;
  /** Attempts made. */
  attempts: number;
  callId?: string;
}

export interface FaxState {
  faxId: string;
  provider: Provider;
  to: string;
  from: string;
  documentUrl: string;
  status: FaxStatus;
  /** The attempt running now (or the last one). */
  attempt: number;
  maxAttempts: number;
  /** Pages sent so far in the current attempt, from the carrier's per-page events. */
  pagesSent: number;
  attempts: FaxAttempt[];
  /** While waiting to retry: when the next attempt starts. */
  nextAttemptAt?: string;
  cancelRequested: boolean;
  result?: FaxResult;
  /** Events ignored as duplicates. */
  duplicatesIgnored: number;
}

/** The fax's state, for `GET /faxes/:id` and the Temporal UI. */
export const faxStateQuery = defineQuery<FaxState>('faxState');

/** Stops the fax: a running transmission is stopped (`calling.send_fax.stop`), a pending retry is dropped. */
export const cancelFaxSignal = defineSignal<[{ reason?: string }]>('cancelFax');
