import type { CallOp } from '../calls/commands';
import type { ControlTable } from '../calls/controls';
import { ErrorType } from '../calls/errors';
import type { Provider } from '../calls/ids';
import { CarrierError } from './errors';
import { JAMBONZ_CONTROLS } from './jambonz/ops';
import { SIGNALWIRE_CONTROLS } from './signalwire/ops';
import { TELNYX_CONTROLS } from './telnyx/ops';

/**
 * How each flow operation reaches a carrier. Every carrier has one such table; what travels as documents
 * (`CallSessionInput.documentOps`), which operations fail with `Unsupported`, and which carriers fax are
 * all read from it, so a carrier's abilities are written down once.
 */
export const OpRoute = {
  /** A REST command (Telnyx Call Control, SignalWire Calling API, jambonz Live Call Control). */
  Command: 'command',
  /** A step in the call's next document (SWML, jambonz verbs), handed out by the `nextDocument` update. */
  Document: 'document',
  /** The carrier has no way to do it; the operation fails fast with `Unsupported`. */
  Unsupported: 'unsupported',
} as const;
export type OpRoute = (typeof OpRoute)[keyof typeof OpRoute];

export type OpTable = Readonly<Record<CallOp, OpRoute>>;

/** The operations a session sends to this carrier as document steps. */
export function documentOps(table: OpTable): CallOp[] {
  return (Object.keys(table) as CallOp[]).filter((op) => table[op] === OpRoute.Document);
}

export function supports(table: OpTable, op: CallOp): boolean {
  return table[op] !== OpRoute.Unsupported;
}

/** The one refusal for an operation a carrier cannot do; `why` says what the carrier lacks. */
export function unsupported(provider: Provider, operation: string, why?: string): CarrierError {
  return new CarrierError(
    `${provider} does not support ${operation}${why ? ` (${why})` : ''}`,
    ErrorType.Unsupported,
    false,
    { provider, operation, ...(why ? { detail: why } : {}) },
  );
}

/** The refusal for a document step that reached the REST builder: the session should have put it in a document. */
export function documentOnly(provider: Provider, operation: string): CarrierError {
  return new CarrierError(
    `${provider} takes ${operation} only as a document step, not as a REST command (the session lists it in documentOps)`,
    ErrorType.InvalidCommand,
    false,
    { provider, operation },
  );
}

/** How each carrier carries out each live control (`POST /calls/:id/actions/:action`). */
export const CARRIER_CONTROLS = {
  telnyx: TELNYX_CONTROLS,
  signalwire: SIGNALWIRE_CONTROLS,
  jambonz: JAMBONZ_CONTROLS,
} as const satisfies Record<Provider, ControlTable>;
