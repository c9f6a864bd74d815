import { join } from 'node:path';
import { defaultJambonzSpecDir, VERB_SPECS_FILE, VerbSpecValidator } from '../../../../src/simulator/jambonz';

/**
 * The verb-spec validator (src/simulator/jambonz/verb-spec.ts, shared with the simulator, which checks every
 * document it receives) bound to the official verb specifications in shared/specs.
 */

export { VerbSpecError } from '../../../../src/simulator/jambonz';

export const VERB_SPECS_PATH = join(defaultJambonzSpecDir(), VERB_SPECS_FILE);
const validator = VerbSpecValidator.fromFile(VERB_SPECS_PATH);

/**
 * Validates a verb array as jambonz receives it: pass the JSON-decoded document (so undefined properties are
 * gone, as on the wire). Throws `VerbSpecError` naming the first violation.
 */
export function validateVerbDocument(document: unknown): void {
  validator.validateDocument(document);
}

/** Validates `data` against the spec entry `name` (a verb or a nested type). */
export function validateEntry(name: string, data: unknown, where = name): void {
  validator.validateEntry(name, data, where);
}

/** The wire form of a document: what `JSON.stringify` sends. */
export function onTheWire<T>(value: T): unknown {
  return JSON.parse(JSON.stringify(value));
}
