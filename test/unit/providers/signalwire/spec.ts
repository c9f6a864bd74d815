import { readFileSync } from 'node:fs';
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';

/**
 * Validators for SignalWire's official Calling API spec (shared/specs/signalwire-calling.openapi.yaml).
 * The whole `components` object is registered under `$id: 'sw'` so every `$ref` resolves. strict: false
 * because of vendor keywords (`discriminator`, `examples` on `$ref`s) and an upstream schema with
 * `default: 0` beside `minimum: 1`.
 */

export const SPEC_PATH = '/work/shared/specs/signalwire-calling.openapi.yaml';

interface Spec {
  components: { schemas: Record<string, { discriminator?: { mapping: Record<string, string> } }> };
}

const spec = parse(readFileSync(SPEC_PATH, 'utf8')) as Spec;
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema({ $id: 'sw', components: spec.components });

const compiled = new Map<string, ValidateFunction>();

/** A validator for `#/components/schemas/<name>`, compiled once. */
export function schemaValidator(name: string): ValidateFunction {
  let validate = compiled.get(name);
  if (!validate) {
    validate = ajv.compile({ $ref: `sw#/components/schemas/${name}` });
    compiled.set(name, validate);
  }
  return validate;
}

/** The schema errors of `value` against `#/components/schemas/<name>`, as text; '' when it is valid. */
export function schemaErrors(name: string, value: unknown): string {
  const validate = schemaValidator(name);
  return validate(value) ? '' : ajv.errorsText(validate.errors, { separator: '\n' });
}

/**
 * The schema errors of a Calling API request body against `CallRequest`; '' when it is valid. When it is
 * not, the errors are those of the one variant its `command` selects, which read far better than a
 * 43-way `oneOf`.
 */
export function callRequestErrors(body: { command: string; [field: string]: unknown }): string {
  if (!schemaErrors('Calling.CallRequest', body)) return '';
  const ref = spec.components.schemas['Calling.CallRequest']?.discriminator?.mapping[body.command];
  if (!ref) return `no CallRequest variant for command "${body.command}"`;
  return (
    schemaErrors(ref.replace('#/components/schemas/', ''), body) ||
    'valid alone, but not exactly one CallRequest variant'
  );
}
