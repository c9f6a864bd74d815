import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import { sharedSpecsDir } from '../spec-files';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';
import { DOCUMENTED_CALLBACK_SCHEMAS } from './callback-shapes';

/**
 * Validation against SignalWire's official Calling API spec (OpenAPI 3.1, YAML): REST request bodies
 * (`Calling.CallRequest`, one variant per `command`), the SWML fetch body, SWML documents, and the one
 * status callback the spec models (`calling.call.stream`). The other status callbacks are only described in
 * prose; `callback-shapes.ts` holds their documented shapes. The spec's schemas are already closed
 * (`unevaluatedProperties: {not: {}}`), so undeclared fields are refused as published.
 */

const SPEC_ID = 'signalwire-calling';

/** `<repo root>/../shared/specs/signalwire-calling.openapi.yaml`. */
export function defaultSignalWireSpecPath(): string {
  return join(sharedSpecsDir(), 'signalwire-calling.openapi.yaml');
}

/** One way a request body breaks its schema; `attribute` is the dotted path (`params.url`). */
export interface RequestViolation {
  keyword: string;
  attribute: string;
  message: string;
}

type JsonObject = Record<string, unknown>;

const isObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export const SCHEMAS = {
  callRequest: 'Calling.CallRequest',
  callResponse: 'Calling.CallResponse',
  voiceLog: 'Voice.VoiceLog',
  swmlDocument: 'SWML.Calling.SWMLObject',
  swmlFetch: 'Webhooks.Calling.InboundCallWebhookPayload',
  streamCallback: 'Webhooks.Calling.StreamStatusCallbackPayload',
} as const;

export class SignalWireSpecValidator {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true });
  private readonly compiled = new Map<string, ValidateFunction>();
  /** command -> schema name of its `CallRequest` variant. */
  private readonly variantByCommand = new Map<string, string>();

  constructor(spec: JsonObject) {
    addFormats(this.ajv);
    const components = isObject(spec.components) ? spec.components : {};
    this.ajv.addSchema({ $id: SPEC_ID, components });
    const schemas = isObject(components.schemas) ? components.schemas : {};
    const callRequest = schemas[SCHEMAS.callRequest];
    const mapping =
      isObject(callRequest) && isObject(callRequest.discriminator) ? callRequest.discriminator.mapping : undefined;
    for (const [command, ref] of Object.entries(isObject(mapping) ? mapping : {})) {
      if (typeof ref === 'string') this.variantByCommand.set(command, ref.replace('#/components/schemas/', ''));
    }
  }

  static fromFile(path: string): SignalWireSpecValidator {
    return new SignalWireSpecValidator(parse(readFileSync(path, 'utf8')) as JsonObject);
  }

  /** Errors of `value` against `#/components/schemas/<name>`, as `<path>: <message>` lines. */
  schemaErrors(name: string, value: unknown): string[] {
    const validate = this.validator(`${SPEC_ID}#/components/schemas/${name}`);
    return validate(value) ? [] : dedupe((validate.errors ?? []).map(describeError));
  }

  /**
   * How a Calling API body breaks `CallRequest`. Reported against the one variant its `command` selects,
   * which reads far better than the errors of a 43-way `oneOf`.
   */
  requestViolations(body: unknown): RequestViolation[] {
    const command = isObject(body) ? body.command : undefined;
    if (!isObject(body) || typeof command !== 'string') {
      return [{ keyword: 'required', attribute: 'command', message: 'command is required' }];
    }
    const variant = this.variantByCommand.get(command);
    if (!variant) return [{ keyword: 'enum', attribute: 'command', message: `command "${command}" is not supported` }];
    const validate = this.validator(`${SPEC_ID}#/components/schemas/${variant}`);
    if (validate(body)) return [];
    const violations = (validate.errors ?? [])
      .filter((e) => isUndeclared(e) || !['anyOf', 'oneOf', 'allOf', 'not'].includes(e.keyword))
      .map(toViolation);
    const unique = new Map(violations.map((v) => [`${v.attribute}|${v.message}`, v]));
    return unique.size > 0
      ? [...unique.values()]
      : [{ keyword: 'invalid', attribute: 'params', message: 'params do not match any accepted form' }];
  }

  /**
   * Errors of a status callback body: against the spec where it models the event (stream), else against the
   * shape the SWML and REST docs describe (see callback-shapes.ts).
   */
  statusCallbackErrors(body: unknown): string[] {
    const eventType = isObject(body) ? body.event_type : undefined;
    if (eventType === 'calling.call.stream') return this.schemaErrors(SCHEMAS.streamCallback, body);
    if (typeof eventType !== 'string' || !(eventType in DOCUMENTED_CALLBACK_SCHEMAS))
      return [`no documented shape for event_type ${String(eventType)}`];
    const validate = this.validator(`documented:${eventType}`, DOCUMENTED_CALLBACK_SCHEMAS[eventType]);
    return validate(body) ? [] : dedupe((validate.errors ?? []).map(describeError));
  }

  private validator(ref: string, schema: object = { $ref: ref }): ValidateFunction {
    let validate = this.compiled.get(ref);
    if (!validate) {
      validate = this.ajv.compile(schema);
      this.compiled.set(ref, validate);
    }
    return validate;
  }
}

const dedupe = (lines: string[]) => [...new Set(lines)];

/** The spec closes its objects with `unevaluatedProperties: {not: {}}`: ajv reports an extra field as a `not` at its path. */
const isUndeclared = (error: ErrorObject) =>
  error.keyword === 'not' && error.schemaPath.endsWith('/unevaluatedProperties/not');

function toViolation(error: ErrorObject): RequestViolation {
  const path = error.instancePath.split('/').filter(Boolean);
  if (error.keyword === 'required') path.push((error.params as { missingProperty: string }).missingProperty);
  const attribute = path.join('.') || 'body';
  if (error.keyword === 'required') return { keyword: 'required', attribute, message: `${attribute} is required` };
  if (isUndeclared(error))
    return { keyword: 'unevaluatedProperties', attribute, message: `${attribute} is not a valid parameter` };
  return { keyword: error.keyword, attribute, message: `${attribute} ${error.message ?? error.keyword}` };
}

function describeError(error: ErrorObject): string {
  if (isUndeclared(error)) return `${error.instancePath}: property is not in the schema`;
  if (error.keyword === 'additionalProperties') {
    return `${error.instancePath || '/'}: property "${(error.params as { additionalProperty: string }).additionalProperty}" is not in the schema`;
  }
  return `${error.instancePath || '/'}: ${error.message ?? error.keyword}`;
}

const validators = new Map<string, SignalWireSpecValidator>();
const warnedPaths = new Set<string>();

/**
 * The validator for the spec at `specPath`, shared per path. When the file is missing it logs a warning
 * once and returns undefined, so the simulator runs without validation.
 */
export function loadSignalWireSpec(
  specPath = defaultSignalWireSpecPath(),
  warn?: (line: string) => void,
): SignalWireSpecValidator | undefined {
  const cached = validators.get(specPath);
  if (cached) return cached;
  if (!existsSync(specPath)) {
    if (!warnedPaths.has(specPath)) {
      warnedPaths.add(specPath);
      warn?.(`warning: SignalWire spec not found at ${specPath}; requests, documents and callbacks are not validated`);
    }
    return undefined;
  }
  const validator = SignalWireSpecValidator.fromFile(specPath);
  validators.set(specPath, validator);
  return validator;
}

/** The validator, for tests: throws when the spec is missing, so they cannot pass vacuously. */
export function signalWireSpec(specPath?: string): SignalWireSpecValidator {
  const path = specPath ?? defaultSignalWireSpecPath();
  const validator = loadSignalWireSpec(path);
  if (!validator) throw new Error(`SignalWire spec not found at ${path}`);
  return validator;
}
