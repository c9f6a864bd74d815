/**
 * Identities of call sessions and of the commands they send.
 *
 * Workflow ids are business keys, so a duplicated or racing webhook always reaches the same session:
 * `call:<provider>:<carrier call id>` for inbound calls, `call:<provider>:out:<request id>` for calls we
 * place (the carrier's id is only known after dialing), `fax:<id>` for faxes and `queue:<name>` for queues.
 */

export const PROVIDERS = ['telnyx', 'signalwire', 'jambonz'] as const;
export type Provider = (typeof PROVIDERS)[number];

export function isProvider(value: unknown): value is Provider {
  return typeof value === 'string' && (PROVIDERS as readonly string[]).includes(value);
}

/** Workflow id of the session that owns an inbound call. */
export function inboundCallWorkflowId(provider: Provider, carrierCallId: string): string {
  return `call:${provider}:${carrierCallId}`;
}

/** Workflow id of the session for a call we place; `requestId` doubles as the idempotency key of the request. */
export function outboundCallWorkflowId(provider: Provider, requestId: string): string {
  return `call:${provider}:out:${requestId}`;
}

export function faxWorkflowId(faxId: string): string {
  return `fax:${faxId}`;
}

/** The provider a call workflow id belongs to, or undefined when the id is not a call session's. */
export function providerOfWorkflowId(workflowId: string): Provider | undefined {
  const [kind, provider] = workflowId.split(':');
  return kind === 'call' && isProvider(provider) ? provider : undefined;
}

/**
 * The idempotency key of one command: stable across activity retries (same workflow, same operation
 * sequence number) and unique across operations. It becomes Telnyx `command_id` and SignalWire `control_id`.
 * The run id is left out on purpose: an operation replayed after continue-as-new keeps its key.
 */
export function commandKey(workflowId: string, sequence: number): string {
  return `${workflowId}#${sequence}`;
}

/** The operation sequence number inside a command key, if it is one of ours. */
export function sequenceOfCommandKey(key: string | undefined): number | undefined {
  if (!key) return undefined;
  const hash = key.lastIndexOf('#');
  if (hash < 0) return undefined;
  const n = Number(key.slice(hash + 1));
  return Number.isInteger(n) && n >= 0 ? n : undefined;
}

/** Whether a string is a plausible phone number or SIP URI for a call target. */
export function isDialTarget(value: unknown): value is string {
  return typeof value === 'string' && (/^\+[1-9]\d{6,14}$/.test(value) || /^sips?:[^\s@]+@[^\s]+$/.test(value));
}
