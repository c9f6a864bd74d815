import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { FaxFailure } from './events';
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
  /** How long a fax that is the carrier's resource (Telnyx) may stay quiet before the carrier is asked about it. */
  liveness?: FaxLiveness;
}

/**
 * A fax quiet this long (no event) is looked up at the carrier (`GET /faxes/{id}`), the wait doubling up to the
 * maximum, so a lost final webhook cannot leave a fax hanging. Telnyx sends no event while pages go out.
 */
export interface FaxLiveness {
  firstQuietMs: number;
  maxQuietMs: number;
}

export const FAX_LIVENESS: FaxLiveness = { firstQuietMs: 60_000, maxQuietMs: 5 * 60_000 };

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

/** The fax's state (sent or received), for `GET /faxes/:id` and the Temporal UI. */
export const faxStateQuery = defineQuery<FaxState | ReceivedFaxState>('faxState');

/** Stops the fax: a running transmission is stopped (`calling.send_fax.stop`), a pending retry is dropped. */
export const cancelFaxSignal = defineSignal<[{ reason?: string }]>('cancelFax');

// Faxes we receive on a fax API (Telnyx Programmable Fax), and the status reads that reconcile a fax whose
// final webhook was lost.

/** A fax received on a carrier's fax API: one `receiveFaxWorkflow` per fax, started by its first webhook. */
export const RECEIVE_FAX_WORKFLOW = 'receiveFaxWorkflow';

/** `fax:<provider>:in:<carrier fax id>`: any webhook of the fax names the workflow, in any order. */
export function receivedFaxWorkflowId(provider: Provider, carrierFaxId: string): string {
  return `fax:${provider}:in:${carrierFaxId}`;
}

export interface ReceiveFaxInput {
  provider: Provider;
  /** The carrier's id of the fax (Telnyx `fax_id`). */
  carrierFaxId: string;
  from: string;
  to: string;
  liveness?: FaxLiveness;
}

export type ReceivedFaxStatus = 'receiving' | 'received' | 'failed';

/** A received fax's state (`faxState` query, `GET /faxes/:id`). */
export interface ReceivedFaxState {
  faxId: string;
  provider: Provider;
  direction: 'receive';
  carrierFaxId: string;
  from: string;
  to: string;
  status: ReceivedFaxStatus;
  /** Pages the carrier has reported so far. */
  pagesReceived: number;
  /** The received document (Telnyx: a signed URL valid for minutes; `POST /faxes/:id/actions/refresh` renews it). */
  documentUrl?: string;
  /** When the document URL was last renewed. */
  documentRefreshedAt?: string;
  /** Only part of the fax arrived (Telnyx `partial_content`); the document holds what did. */
  partial?: boolean;
  resultCode?: string;
  resultText?: string;
  /** Until when `POST /faxes/:id/actions/refresh` can renew the document (the workflow closes then). */
  refreshableUntil?: string;
  duplicatesIgnored: number;
}

/** What the carrier says about a fax when asked (`GET /faxes/{id}`): its status and, once final, its outcome. */
export interface FaxStatusReport {
  status: string;
  /** The fax is over (delivered, received or failed). */
  final: boolean;
  success?: boolean;
  /** A failed fax's reason as the carrier names it, and normalised. */
  resultCode?: string;
  resultText?: string;
  failure?: FaxFailure;
  /** The received document's (current) URL. */
  documentUrl?: string;
}

/** Renews a received fax's document URL at the carrier; answers the new URL. */
export const refreshFaxDocumentUpdate = defineUpdate<{ documentUrl?: string }, []>('refreshFaxDocument');
