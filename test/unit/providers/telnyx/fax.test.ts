import { readFileSync } from 'node:fs';
import { ErrorType, FaxFailure, receivedFaxWorkflowId, type FaxCallRequest } from '../../../../src/calls';
import { CarrierError } from '../../../../src/providers/errors';
import {
  TELNYX_FAX_FAILURES,
  createTelnyxAdapter,
  decodeClientState,
  encodeClientState,
  normaliseTelnyxWebhook,
  telnyxCancelFaxRequest,
  telnyxRefreshFaxRequest,
  telnyxSendFaxRequest,
  telnyxSentFax,
  telnyxViewFaxRequest,
} from '../../../../src/providers/telnyx';
import { MalformedWebhookError } from '../../../../src/providers/types';
import {
  TelnyxSpecValidator,
  defaultSpecPath,
  validateTelnyxRequest,
  validateTelnyxResponse,
  validateTelnyxWebhook,
} from '../../../../src/simulator/telnyx/spec';

/** Telnyx Programmable Fax in the adapter: requests against the spec, and the spec's fax webhooks normalised. */

const spec = JSON.parse(readFileSync(defaultSpecPath(), 'utf8')) as {
  components: { schemas: Record<string, { example?: unknown }> };
};
const validator = new TelnyxSpecValidator(spec as unknown as Record<string, unknown>);
/** The spec's own example of a webhook, with our client_state and fax id in it. */
function example(schema: string, payload: Record<string, unknown> = {}): Buffer {
  const body = structuredClone(spec.components.schemas[schema].example) as {
    data: { payload: Record<string, unknown> };
  };
  Object.assign(body.data.payload, payload);
  return Buffer.from(JSON.stringify(body));
}

const FAX_WF = 'fax:invoice-42';
const request: FaxCallRequest = {
  to: '+15550009001',
  from: '+15550001000',
  documentUrl: 'https://files.example.com/invoice.pdf',
  ownerWorkflowId: FAX_WF,
  timeoutSeconds: 60,
};
const options = { faxConnectionId: '1293384261075731499' };
const ours = encodeClientState({ wf: FAX_WF });
const FAX_ID = 'f8338808-3dc6-4f2b-942a-5d1f39255784';

describe('Telnyx fax requests', () => {
  it('sends a fax with POST /faxes: a body valid by SendFaxRequest, naming the fax workflow in client_state', () => {
    const sent = telnyxSendFaxRequest(request, options);
    expect([sent.method, sent.path]).toEqual(['POST', '/faxes']);
    expect(validateTelnyxRequest('/faxes', 'post', sent.body)).toEqual([]);
    const body = sent.body as Record<string, unknown>;
    expect(body).toMatchObject({
      connection_id: options.faxConnectionId,
      to: request.to,
      from: request.from,
      media_url: request.documentUrl,
    });
    expect(decodeClientState(body.client_state)).toEqual({ wf: FAX_WF });
    // The spec has no command_id on POST /faxes: the body carries none (the dial rule guards retries).
    expect(body).not.toHaveProperty('command_id');
    expect(createTelnyxAdapter({ connectionId: 'c', voice: 'v', ...options }).faxIsIdempotent).toBe(false);
  });

  it('refuses a header line or a station identity, which Programmable Fax cannot carry', () => {
    for (const extra of [{ headerInfo: 'ACME' }, { identity: '+15550001000' }]) {
      const refused = (() => {
        try {
          telnyxSendFaxRequest({ ...request, ...extra }, options);
        } catch (err) {
          return err;
        }
      })();
      expect(refused).toBeInstanceOf(CarrierError);
      expect(refused).toMatchObject({ type: ErrorType.InvalidCommand, retryable: false });
    }
  });

  it('reads the fax id from the 202 response as the attempt id and the id that cancels it', () => {
    const response = { data: { ...(spec.components.schemas.Fax.example as object), id: FAX_ID } };
    expect(validateTelnyxResponse('/faxes', 'post', 202, response)).toEqual([]);
    expect(telnyxSentFax(response)).toEqual({ callId: FAX_ID, faxControlId: FAX_ID });
    expect(() => telnyxSentFax({ data: {} })).toThrow(/no data.id/);
  });

  it('cancels, refreshes and views by the fax id, on operations the spec has', () => {
    const adapter = createTelnyxAdapter({ connectionId: 'c', voice: 'v', ...options });
    const cancel = adapter.stopFaxRequest!(FAX_ID, FAX_ID, 'send');
    expect(cancel).toEqual(telnyxCancelFaxRequest(FAX_ID));
    for (const [built, template] of [
      [cancel, '/faxes/{id}/actions/cancel'],
      [telnyxRefreshFaxRequest(FAX_ID), '/faxes/{id}/actions/refresh'],
      [telnyxViewFaxRequest(FAX_ID), '/faxes/{id}'],
    ] as const) {
      expect(built.path).toBe(template.replace('{id}', FAX_ID));
      expect(validator.hasOperation(template, built.method)).toBe(true);
    }
  });

  it('validates responses strictly: an undeclared field or a wrong type is an error', () => {
    const fax = { ...(spec.components.schemas.Fax.example as object), id: FAX_ID };
    expect(validateTelnyxResponse('/faxes/{id}', 'get', 200, { data: { ...fax, pages: 3 } })).toEqual([
      expect.stringMatching(/"pages" is not in the spec/),
    ]);
    expect(validateTelnyxResponse('/faxes/{id}', 'get', 200, { data: { ...fax, status: 'done' } })).not.toEqual([]);
  });
});

describe('Telnyx fax webhooks', () => {
  it('fax.queued is the attempt showing up, routed to the fax workflow by client_state', () => {
    const routed = normaliseTelnyxWebhook(example('FaxQueued', { client_state: ours, fax_id: FAX_ID }));
    expect(routed.ownerWorkflowId).toBe(FAX_WF);
    expect(routed.events).toEqual([
      expect.objectContaining({
        provider: 'telnyx',
        kind: 'call.outgoing',
        callId: FAX_ID,
        controlId: FAX_ID,
        eventId: '95479a2e-b947-470a-a88f-2da6dd07ae0f',
        from: '+17733372107',
        to: '+15107882622',
      }),
    ]);
  });

  it('fax.media.processed changes nothing; fax.sending.started is the far end answering', () => {
    expect(normaliseTelnyxWebhook(example('FaxMediaProcessed', { client_state: ours })).events).toEqual([]);
    const started = normaliseTelnyxWebhook(example('FaxSendingStarted', { client_state: ours }));
    expect(started.events).toEqual([expect.objectContaining({ kind: 'call.answered', callId: FAX_ID })]);
  });

  it('fax.delivered ends the fax with its page count', () => {
    const routed = normaliseTelnyxWebhook(example('FaxDelivered', { client_state: ours }));
    expect(routed.events).toEqual([
      expect.objectContaining({
        kind: 'fax.ended',
        success: true,
        pages: 2,
        callId: FAX_ID,
        controlId: FAX_ID,
        documentUrl: 'http://www.example.com/fax.pdf',
      }),
    ]);
    expect(routed.events[0]).not.toHaveProperty('failure');
  });

  it('fax.failed ends the fax with its reason normalised', () => {
    const failed = (reason: string) => {
      const raw = example('FaxFailed', { client_state: ours, failure_reason: reason });
      // Documented reasons pass the spec check (its enum lists only "rejected").
      expect(validateTelnyxWebhook(raw.toString('utf8'))).toEqual([]);
      return normaliseTelnyxWebhook(raw).events[0];
    };
    expect(failed('rejected')).toMatchObject({
      kind: 'fax.ended',
      success: false,
      pages: 0,
      resultCode: 'rejected',
      failure: FaxFailure.Unreachable,
    });
    expect(failed('user_busy')).toMatchObject({ failure: 'busy', resultText: 'busy (user_busy)' });
    expect(failed('receiver_no_answer')).toMatchObject({ failure: 'no-answer' });
    expect(failed('fax_signaling_error')).toMatchObject({ failure: 'negotiation' });
    expect(failed('receiver_call_dropped')).toMatchObject({ failure: 'dropped' });
    expect(failed('file_download_failed')).toMatchObject({ failure: 'document' });
    expect(failed('user_channel_limit_exceeded')).toMatchObject({ failure: 'congestion' });
    // An undocumented reason fails the spec check, and is not retried.
    const raw = example('FaxFailed', { failure_reason: 'cosmic_rays' });
    expect(validateTelnyxWebhook(raw.toString('utf8'))).not.toEqual([]);
    expect(normaliseTelnyxWebhook(raw).events[0]).toMatchObject({ failure: 'unknown', resultCode: 'cosmic_rays' });
  });

  it('maps every reason in its table to a known failure', () => {
    const known = new Set<string>(Object.values(FaxFailure));
    for (const failure of Object.values(TELNYX_FAX_FAILURES)) expect(known.has(failure)).toBe(true);
  });

  it('refuses a fax event without fax_id', () => {
    const body = JSON.parse(example('FaxQueued').toString()) as { data: { payload: Record<string, unknown> } };
    delete body.data.payload.fax_id;
    expect(() => normaliseTelnyxWebhook(Buffer.from(JSON.stringify(body)))).toThrow(MalformedWebhookError);
  });
});

/** A received fax's webhook as "Receive a Fax via API" documents it (these events are not in the spec). */
function received(eventType: string, status: string, extra: Record<string, unknown> = {}): Buffer {
  const payload = {
    caller_id: '+15550007000',
    connection_id: '234423',
    direction: 'inbound',
    fax_id: FAX_ID,
    from: '+15550007000',
    to: '+15550001000',
    user_id: '19a75cea-02c6-4b9a-84fa-c9bc8341feb8',
    status,
    ...extra,
  };
  const data = {
    record_type: 'event',
    event_type: eventType,
    id: `${eventType}-1`,
    occurred_at: '2026-01-01T00:00:00Z',
  };
  return Buffer.from(JSON.stringify({ data: { ...data, id: '95479a2e-b947-470a-a88f-2da6dd07ae0f', payload } }));
}
const MEDIA = 'https://s3.example.com/fax.pdf?X-Amz-Signature=abc';

describe('Telnyx received faxes', () => {
  it('validates the documented received-fax webhooks, closed like the spec schemas', () => {
    const valid = [
      received('fax.receiving.started', 'receiving'),
      received('fax.media.processing.started', 'media.processing', { page_count: 3 }),
      received('fax.received', 'received', {
        media_url: MEDIA,
        page_count: 3,
        call_duration_secs: 40,
        partial_content: false,
      }),
    ];
    for (const raw of valid) expect(validateTelnyxWebhook(raw.toString('utf8'))).toEqual([]);
    expect(validateTelnyxWebhook(received('fax.received', 'received', { pages: 3 }).toString('utf8'))).toEqual([
      expect.stringMatching(/"pages" is not in the spec/),
    ]);
    expect(validateTelnyxWebhook(received('fax.received', 'delivered').toString('utf8'))).not.toEqual([]);
  });

  it('routes every received-fax webhook to the receive-fax workflow of its fax id, whichever comes first', () => {
    const start = normaliseTelnyxWebhook(received('fax.receiving.started', 'receiving'));
    const receivedFax = { provider: 'telnyx', carrierFaxId: FAX_ID, from: '+15550007000', to: '+15550001000' };
    expect(start).toEqual({
      ownerWorkflowId: undefined,
      receivedFax,
      events: [expect.objectContaining({ kind: 'call.incoming', direction: 'inbound', callId: FAX_ID })],
    });
    const pages = normaliseTelnyxWebhook(
      received('fax.media.processing.started', 'media.processing', { page_count: 4 }),
    );
    expect(pages.receivedFax).toEqual(receivedFax);
    expect(pages.events).toEqual([expect.objectContaining({ kind: 'fax.page', direction: 'receive', page: 4 })]);
    expect(receivedFaxWorkflowId('telnyx', FAX_ID)).toBe(`fax:telnyx:in:${FAX_ID}`);
  });

  it('fax.received ends the fax with the document URL; partial_content and fax.failed say what went wrong', () => {
    const whole = normaliseTelnyxWebhook(received('fax.received', 'received', { media_url: MEDIA, page_count: 3 }));
    expect(whole.events[0]).toMatchObject({ kind: 'fax.ended', success: true, pages: 3, documentUrl: MEDIA });
    const part = normaliseTelnyxWebhook(
      received('fax.received', 'received', { media_url: MEDIA, page_count: 1, partial_content: true }),
    );
    expect(part.events[0]).toMatchObject({ success: true, pages: 1, resultCode: 'partial_content' });
    const failedRaw = example('FaxFailed', { direction: 'inbound', failure_reason: 'sender_call_dropped' });
    expect(validateTelnyxWebhook(failedRaw.toString('utf8'))).toEqual([]);
    const failed = normaliseTelnyxWebhook(failedRaw);
    expect(failed.receivedFax).toMatchObject({ carrierFaxId: FAX_ID });
    expect(failed.events[0]).toMatchObject({ kind: 'fax.ended', success: false, failure: FaxFailure.Dropped });
  });

  it('reads GET /faxes/{id} for reconciliation: final or not, the outcome, a received document', () => {
    const adapter = createTelnyxAdapter({ connectionId: 'c', voice: 'v', ...options });
    expect(adapter.faxStatusRequest!(FAX_ID)).toEqual(telnyxViewFaxRequest(FAX_ID));
    expect(adapter.refreshFaxDocumentRequest!(FAX_ID)).toEqual(telnyxRefreshFaxRequest(FAX_ID));
    const fax = (fields: Record<string, unknown>) => {
      const body = { data: { ...(spec.components.schemas.Fax.example as object), id: FAX_ID, ...fields } };
      expect(validateTelnyxResponse('/faxes/{id}', 'get', 200, body)).toEqual([]);
      return adapter.faxStatus!(body);
    };
    expect(fax({ status: 'sending' })).toEqual({ status: 'sending', final: false });
    expect(fax({ status: 'delivered' })).toEqual({ status: 'delivered', final: true, success: true });
    // The spec's Fax has no failure_reason: the reason is unknown, and not retried.
    expect(fax({ status: 'failed' })).toMatchObject({ final: true, success: false, failure: FaxFailure.Unknown });
    expect(adapter.faxStatus!({ data: { status: 'failed', failure_reason: 'user_busy' } })).toMatchObject({
      failure: FaxFailure.Busy,
      resultCode: 'user_busy',
    });
    expect(fax({ status: 'received', direction: 'inbound', media_url: MEDIA })).toEqual({
      status: 'received',
      final: true,
      success: true,
      documentUrl: MEDIA,
    });
  });
});
