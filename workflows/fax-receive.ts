import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  log,
  proxyActivities,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import {
  CallStatusKey,
  STATE_LIMITS,
  callEventSignal,
  faxStateQuery,
  refreshFaxDocumentUpdate,
  type CallEvent,
  type CallEventOf,
  type ReceiveFaxInput,
  type ReceivedFaxState,
  type ReceivedFaxStatus,
} from '../src/calls';
import type { CallActivities } from '../activities';
import { COMMAND_OPTIONS } from './activity-options';
import { awaitFax, faxEndedFromStatus } from './fax-status';

/**
 * A fax received on a carrier's fax API (Telnyx Programmable Fax), as a workflow of its own
 * (`fax:telnyx:in:<fax id>`). It is not a call: the gateway starts it with the fax's first webhook, whichever
 * comes first, and routes all its webhooks here. It records the pages as the carrier counts them and, at the
 * end, the received document's URL (or why the fax failed); `GET /faxes/:id` shows it.
 *
 * Telnyx signs the document's URL for minutes only: the workflow stays open for `REFRESH_WINDOW_MS` after the
 * fax arrived, so `POST /faxes/:id/actions/refresh` can renew it (the `refreshFaxDocument` update asks
 * Telnyx, `POST /faxes/{id}/actions/refresh`, and reads the new URL). A fax that goes quiet is looked up at the
 * carrier, so a lost `fax.received` cannot leave it receiving.
 */

const refresher = proxyActivities<CallActivities>({ ...COMMAND_OPTIONS, summary: 'refresh fax document' });

/** How long a fax may take to arrive before it is given up (Telnyx's own limit is far lower). */
const RECEIVE_LIMIT_MS = 60 * 60_000;
/** How long after its arrival the document can be renewed: then the workflow closes. */
const REFRESH_WINDOW_MS = 24 * 60 * 60_000;

export async function receiveFaxWorkflow(input: ReceiveFaxInput): Promise<ReceivedFaxState> {
  const state: ReceivedFaxState = {
    faxId: workflowInfo().workflowId,
    provider: input.provider,
    direction: 'receive',
    carrierFaxId: input.carrierFaxId,
    from: input.from,
    to: input.to,
    status: 'receiving',
    pagesReceived: 0,
    duplicatesIgnored: 0,
  };
  const seen: string[] = [];
  let heard = 0;
  let ended: CallEventOf<'fax.ended'> | undefined;

  const setStatus = (status: ReceivedFaxStatus) => {
    if (state.status === status) return;
    state.status = status;
    upsertSearchAttributes([{ key: CallStatusKey, value: status }]);
  };

  setHandler(callEventSignal, (event: CallEvent) => {
    try {
      if (seen.includes(event.eventId)) {
        state.duplicatesIgnored++;
        return;
      }
      seen.push(event.eventId);
      if (seen.length > STATE_LIMITS.seenEventIds) seen.shift();
      heard++;
      if (event.kind === 'call.incoming') {
        state.from ||= event.from;
        state.to ||= event.to;
      } else if (event.kind === 'fax.page' && event.direction === 'receive') {
        state.pagesReceived = Math.max(state.pagesReceived, event.page);
      } else if (event.kind === 'fax.ended') {
        ended ??= event;
      }
    } catch (err) {
      log.warn('fax event could not be applied', { error: (err as Error)?.message });
    }
  });
  setHandler(faxStateQuery, () => state);
  setHandler(
    refreshFaxDocumentUpdate,
    async () => {
      const report = await refresher.refreshFaxDocument({ provider: input.provider, faxId: input.carrierFaxId });
      if (report.documentUrl) state.documentUrl = report.documentUrl;
      state.documentRefreshedAt = new Date().toISOString();
      return { documentUrl: state.documentUrl };
    },
    {
      validator: () => {
        if (state.status !== 'received')
          throw ApplicationFailure.nonRetryable(`the fax has no document to refresh (it is ${state.status})`);
      },
    },
  );

  const report = await awaitFax({
    provider: input.provider,
    faxId: () => input.carrierFaxId,
    heard: () => heard,
    settled: () => ended !== undefined,
    limitMs: RECEIVE_LIMIT_MS,
    liveness: input.liveness,
  });
  if (report) ended ??= faxEndedFromStatus(report, input.provider, input.carrierFaxId, state.pagesReceived);

  if (!ended) {
    state.resultText = 'no outcome in time';
    setStatus('failed');
    return state;
  }
  state.pagesReceived = Math.max(state.pagesReceived, ended.pages);
  state.resultCode = ended.resultCode;
  state.resultText = ended.resultText;
  if (!ended.success) {
    setStatus('failed');
    return state;
  }
  state.documentUrl = ended.documentUrl;
  if (ended.resultCode === 'partial_content') state.partial = true;
  state.refreshableUntil = new Date(Date.now() + REFRESH_WINDOW_MS).toISOString();
  setStatus('received');
  // Open for refreshes until the window closes; a refresh in flight then finishes first.
  await sleep(REFRESH_WINDOW_MS);
  await condition(allHandlersFinished);
  return state;
}
