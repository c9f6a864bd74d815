import type { Flow } from './types';

/**
 * Inbound fax calls: answer, receive the fax (each page shows in the session's `state.fax` as it arrives),
 * and report the received document's URL. On a carrier without fax (Telnyx, jambonz) `receiveFax` fails
 * with `Unsupported`.
 */
export const receiveFax: Flow = async (call) => {
  await call.answer();
  const fax = await call.receiveFax();
  if (!fax.success) return `no fax received (${fax.resultText ?? fax.resultCode ?? 'no result'}; ${fax.pages} pages)`;
  return `received a ${fax.pages}-page fax from ${fax.remoteIdentity || call.state.from}: ${fax.documentUrl ?? '(no document url)'}`;
};
