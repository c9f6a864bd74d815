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

/** The operation sequence number inside a command key (or a delivery's control id), if it is one of ours. */
export function sequenceOfCommandKey(key: string | undefined): number | undefined {
  if (!key) return undefined;
  const base = readControlId(key).commandKey;
  const hash = base.lastIndexOf('#');
  if (hash < 0) return undefined;
  const n = Number(base.slice(hash + 1));
  return Number.isInteger(n) && n >= 0 ? n : undefined;
}

/**
 * The control id a document carrier's hooks carry for one delivery of a command: the command key, then
 * `~<n>` from its second delivery on. A command cut short by a redirect is delivered again, and the carrier
 * may still report the killed first copy (jambonz sends a replaced dial's actionHook, "no-answer"): the
 * delivery number tells that stale report from the outcome of the copy that runs.
 */
export function deliveryControlId(commandKey: string, delivery: number | undefined): string {
  return delivery ? `${commandKey}~${delivery}` : commandKey;
}

/** A control id read back: the command key, and which delivery of it (0 for the first). */
export function readControlId(controlId: string): { commandKey: string; delivery: number } {
  const tilde = controlId.lastIndexOf('~');
  if (tilde < 0) return { commandKey: controlId, delivery: 0 };
  const delivery = Number(controlId.slice(tilde + 1));
  return Number.isInteger(delivery) && delivery > 0
    ? { commandKey: controlId.slice(0, tilde), delivery }
    : { commandKey: controlId, delivery: 0 };
}

/** Whether a string is a plausible phone number or SIP URI for a call target. */
export function isDialTarget(value: unknown): value is string {
  return typeof value === 'string' && (/^\+[1-9]\d{6,14}$/.test(value) || /^sips?:[^\s@]+@[^\s]+$/.test(value));
}
