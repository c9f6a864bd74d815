/**
 * Our `client_state`: base64 of `{"wf":<owning workflow id>,"k":<command key>}`. Telnyx echoes the latest
 * value on every later webhook of the leg, so events of any leg we touched route back to the session that
 * owns it without a database. A `client_state` that is not ours (set by another app) is ignored.
 */
export interface OurClientState {
  wf: string;
  k?: string;
}

export function encodeClientState(state: OurClientState): string {
  return Buffer.from(JSON.stringify(state), 'utf8').toString('base64');
}

export function decodeClientState(value: unknown): OurClientState | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(value, 'base64').toString('utf8'));
    if (parsed && typeof parsed === 'object' && typeof (parsed as OurClientState).wf === 'string') {
      const { wf, k } = parsed as OurClientState;
      return typeof k === 'string' ? { wf, k } : { wf };
    }
  } catch {
    // Telnyx allows any base64 here (even non-JSON); not ours.
  }
  return undefined;
}
