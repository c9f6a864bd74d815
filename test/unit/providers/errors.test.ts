import { certainlyNotActed, classifyResponse, retryAfterMs } from '../../../src/providers/errors';

describe('carrier response classification', () => {
  const telnyx = { provider: 'telnyx' as const, operation: 'speak', goneCodes: ['90018', '90015'] };

  it('treats 2xx as success', () => {
    expect(classifyResponse({ ...telnyx, status: 200 })).toBeUndefined();
    expect(classifyResponse({ ...telnyx, status: 202 })).toBeUndefined();
  });

  it('makes Telnyx 422/90018 a non-retryable CallGone', () => {
    const err = classifyResponse({
      ...telnyx,
      status: 422,
      body: { errors: [{ code: '90018', title: 'Call has already ended' }] },
    });
    expect(err).toMatchObject({ type: 'CallGone', retryable: false, details: { code: '90018', status: 422 } });
  });

  it('makes other 4xx non-retryable CarrierRejected, with the carrier detail in the message', () => {
    const err = classifyResponse({
      ...telnyx,
      status: 422,
      body: { errors: [{ code: '10032', title: 'Invalid enumerated value', detail: 'voice' }] },
    });
    expect(err).toMatchObject({ type: 'CarrierRejected', retryable: false });
    expect(err?.message).toContain('Invalid enumerated value');
    expect(classifyResponse({ ...telnyx, status: 401 })).toMatchObject({ type: 'CarrierRejected', retryable: false });
  });

  it.each([408, 429, 500, 502, 503])('retries %s', (status) => {
    expect(classifyResponse({ ...telnyx, status })).toMatchObject({ type: 'CarrierUnavailable', retryable: true });
  });

  it('turns Retry-After into the next retry delay', () => {
    expect(classifyResponse({ ...telnyx, status: 429, headers: { 'retry-after': '3' } })?.retryAfterMs).toBe(3000);
    expect(retryAfterMs('Wed, 21 Oct 2015 07:28:05 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'))).toBe(5000);
    expect(retryAfterMs('soon')).toBeUndefined();
  });

  it('uses gone statuses for carriers that signal an ended call by status (jambonz, SignalWire)', () => {
    expect(
      classifyResponse({ provider: 'jambonz', operation: 'lcc', status: 404, goneStatuses: [404, 422] }),
    ).toMatchObject({ type: 'CallGone' });
  });

  it('knows which failed dials certainly placed nothing, so a dial without an idempotency key may be retried', () => {
    const failed = (provider: 'signalwire' | 'jambonz', status: number) =>
      classifyResponse({ provider, operation: 'dial', status })!;
    expect(certainlyNotActed(failed('signalwire', 429))).toBe(true);
    // SignalWire's own SDK retries a POST on 503: refused before it acted.
    expect(certainlyNotActed(failed('signalwire', 503))).toBe(true);
    expect(certainlyNotActed(failed('signalwire', 500))).toBe(false);
    expect(certainlyNotActed(failed('signalwire', 502))).toBe(false);
    expect(certainlyNotActed(failed('jambonz', 480))).toBe(true);
    expect(certainlyNotActed(failed('jambonz', 503))).toBe(false);
  });
});
