import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import { sharedSpecsDir } from '../spec-files';
import addFormats from 'ajv-formats';
import { TELNYX_FAX_FAILURES } from '../../providers/telnyx/fax';

/**
 * Validation against Telnyx's official OpenAPI 3.1 spec: request bodies of REST operations (`paths`) and
 * webhook bodies (`webhooks`). Validators are compiled lazily, one per operation or event type, and cached.
 */

const SPEC_ID = 'telnyx-call-control.json';

/**
 * `fax.failed`'s `failure_reason` is an enum of one value (`rejected`) in the spec, yet Telnyx documents some
 * thirty reasons (support article "Fax API - Error List"; see `TELNYX_FAX_FAILURES`). A documented reason is
 * validated as if it were `rejected`, so every other field is still checked against the schema.
 */
function faxFailureForSpec(data: JsonObject): JsonObject {
  const payload = isObject(data.payload) ? data.payload : undefined;
  const reason = payload?.failure_reason;
  if (data.event_type !== 'fax.failed' || typeof reason !== 'string' || !(reason in TELNYX_FAX_FAILURES)) return data;
  return { ...data, payload: { ...payload, failure_reason: 'rejected' } };
}

const component = (name: string) => ({ $ref: `${SPEC_ID}#/components/schemas/${name}` });

/**
 * Received faxes' webhooks are not in the spec: Telnyx documents them in "Receive a Fax via API" (and the
 * `partial_content` release note). Their schemas, closed like the spec's, are built from those documented
 * fields and the spec's own components (ids, numbers, direction, and the `Fax` status enum).
 */
function receivedFaxWebhookSchema(eventType: string, status: string, fields: JsonObject): JsonObject {
  return {
    type: 'object',
    additionalProperties: false,
    properties: {
      data: {
        type: 'object',
        additionalProperties: false,
        required: ['record_type', 'event_type', 'id', 'occurred_at', 'payload'],
        properties: {
          record_type: { enum: ['event'] },
          event_type: { enum: [eventType] },
          id: component('Id'),
          occurred_at: { type: 'string', format: 'date-time' },
          payload: {
            type: 'object',
            additionalProperties: false,
            required: ['fax_id', 'connection_id', 'direction', 'from', 'to', 'status'],
            properties: {
              caller_id: { type: 'string' },
              connection_id: component('ConnectionId'),
              direction: { enum: ['inbound'] },
              fax_id: component('FaxId'),
              from: component('From'),
              to: component('To'),
              user_id: { type: 'string' },
              status: { allOf: [{ $ref: `${SPEC_ID}#/components/schemas/Fax/properties/status` }, { enum: [status] }] },
              ...fields,
            },
          },
        },
      },
      meta: { type: 'object', properties: { attempt: { type: 'integer' }, delivered_to: { type: 'string' } } },
    },
  };
}

const pageCount = { type: 'integer', minimum: 0 };
export const RECEIVED_FAX_WEBHOOKS: Readonly<Record<string, JsonObject>> = {
  'fax.receiving.started': receivedFaxWebhookSchema('fax.receiving.started', 'receiving', {}),
  'fax.media.processing.started': receivedFaxWebhookSchema('fax.media.processing.started', 'media.processing', {
    page_count: pageCount,
  }),
  'fax.received': receivedFaxWebhookSchema('fax.received', 'received', {
    media_url: { type: 'string', format: 'uri' },
    page_count: pageCount,
    call_duration_secs: { type: 'integer', minimum: 0 },
    partial_content: { type: 'boolean' },
  }),
};

/** `<repo root>/../shared/specs/telnyx-call-control.openapi.json`. */
export function defaultSpecPath(): string {
  return join(sharedSpecsDir(), 'telnyx-call-control.openapi.json');
}

/** One way a request body breaks its schema; `pointer` is a JSON pointer into the body. */
export interface RequestViolation {
  keyword: string;
  pointer: string;
  message: string;
  /** For `enum`: the allowed values. */
  allowedValues?: unknown[];
}

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function escapePointerSegment(segment: string): string {
  return encodeURIComponent(segment.replace(/~/g, '~0').replace(/\//g, '~1'));
}

/**
 * A copy of the spec in which every object schema that lists `properties` rejects other properties.
 * The spec's webhook schemas declare no `required` and allow anything extra, so validating against them
 * as published would accept almost any body; the simulator must send only what the spec documents.
 */
function closeObjectSchemas(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(closeObjectSchemas);
  if (!isObject(node)) return node;
  const copy: JsonObject = {};
  for (const [key, value] of Object.entries(node)) {
    // Examples hold instance data, not schemas.
    copy[key] = key === 'example' || key === 'examples' ? value : closeObjectSchemas(value);
  }
  const composed = 'allOf' in node || 'anyOf' in node || 'oneOf' in node;
  if (isObject(node.properties) && !('additionalProperties' in node) && !composed) copy.additionalProperties = false;
  return copy;
}

export class TelnyxSpecValidator {
  private readonly requestAjv = new Ajv2020({ strict: false, allErrors: false });
  private readonly webhookAjv = new Ajv2020({ strict: false, allErrors: true });
  private readonly requestValidators = new Map<string, ValidateFunction | null>();
  private readonly webhookValidators = new Map<string, ValidateFunction>();
  private readonly responseValidators = new Map<string, ValidateFunction>();
  /** event_type -> JSON pointer of its webhook body schema. */
  private readonly webhookSchemaByEventType = new Map<string, string>();

  constructor(private readonly spec: JsonObject) {
    addFormats(this.requestAjv);
    addFormats(this.webhookAjv);
    this.requestAjv.addSchema(spec, SPEC_ID);
    this.webhookAjv.addSchema(closeObjectSchemas(spec) as JsonObject, SPEC_ID);
    this.indexWebhooks();
  }

  static fromFile(path: string): TelnyxSpecValidator {
    return new TelnyxSpecValidator(JSON.parse(readFileSync(path, 'utf8')) as JsonObject);
  }

  /** Whether the spec documents `method` on `operationPath` (a path template such as `/calls/{call_control_id}`). */
  hasOperation(operationPath: string, method: string): boolean {
    return this.operation(operationPath, method) !== undefined;
  }

  /** Violations of the operation's request-body schema; an operation without a JSON body accepts anything. */
  requestViolations(operationPath: string, method: string, body: unknown): RequestViolation[] {
    const validate = this.requestValidator(operationPath, method);
    if (!validate || validate(body)) return [];
    // With allErrors off, the last error is the outermost one (e.g. `oneOf` after its branches' errors).
    const error = validate.errors?.[validate.errors.length - 1];
    return error ? [toViolation(error)] : [];
  }

  /** Everything wrong with a webhook body (object or raw JSON) against its event type's schema. */
  webhookErrors(body: unknown): string[] {
    let parsed = body;
    if (typeof body === 'string' || Buffer.isBuffer(body)) {
      try {
        parsed = JSON.parse(body.toString());
      } catch {
        return ['body is not JSON'];
      }
    }
    const data = isObject(parsed) ? parsed.data : undefined;
    if (!isObject(data)) return ['body has no `data` object'];
    const eventType = data.event_type;
    if (typeof eventType !== 'string') return ['data.event_type is missing'];
    const pointer = this.webhookSchemaByEventType.get(eventType);
    const documented = RECEIVED_FAX_WEBHOOKS[eventType];
    if (!pointer && !documented) return [`event_type ${eventType} has no webhook schema in the spec`];
    // The envelope fields every call event carries; the spec lists them without marking them required.
    const missing = ['record_type', 'event_type', 'id', 'occurred_at', 'payload']
      .filter((field) => !(field in data))
      .map((field) => `data.${field} is missing`);
    let validate = this.webhookValidators.get(eventType);
    if (!validate) {
      validate = this.webhookAjv.compile(pointer ? { $ref: `${SPEC_ID}#${pointer}` } : documented);
      this.webhookValidators.set(eventType, validate);
    }
    const checked = { ...(parsed as JsonObject), data: faxFailureForSpec(data) };
    if (validate(checked)) return missing;
    return [...missing, ...(validate.errors ?? []).map(describeError)];
  }

  /**
   * Everything wrong with a response body against the operation's response schema for `status` (undeclared
   * properties included, as for webhooks); a status the operation does not list is itself an error.
   */
  responseErrors(operationPath: string, method: string, status: number, body: unknown): string[] {
    const key = `${method.toLowerCase()} ${operationPath} ${status}`;
    let validate = this.responseValidators.get(key);
    if (!validate) {
      const operation = this.operation(operationPath, method);
      if (!operation) return [`the spec has no operation ${method.toUpperCase()} ${operationPath}`];
      const responses = isObject(operation.responses) ? operation.responses : {};
      const listed = String(status) in responses ? String(status) : 'default' in responses ? 'default' : undefined;
      if (listed === undefined) return [`${method.toUpperCase()} ${operationPath} has no response ${status}`];
      const response = responses[listed];
      const base = isObject(response) && typeof response.$ref === 'string' ? response.$ref.slice(1) : undefined;
      const pointer = `${base ?? `/paths/${escapePointerSegment(operationPath)}/${method.toLowerCase()}/responses/${listed}`}/content/${escapePointerSegment('application/json')}/schema`;
      validate = this.webhookAjv.compile({ $ref: `${SPEC_ID}#${pointer}` });
      this.responseValidators.set(key, validate);
    }
    return validate(body) ? [] : (validate.errors ?? []).map(describeError);
  }

  private operation(operationPath: string, method: string): JsonObject | undefined {
    const paths = this.spec.paths;
    const item = isObject(paths) ? paths[operationPath] : undefined;
    const operation = isObject(item) ? item[method.toLowerCase()] : undefined;
    return isObject(operation) ? operation : undefined;
  }

  private requestValidator(operationPath: string, method: string): ValidateFunction | null {
    const key = `${method.toLowerCase()} ${operationPath}`;
    const cached = this.requestValidators.get(key);
    if (cached !== undefined) return cached;
    const operation = this.operation(operationPath, method);
    if (!operation) throw new Error(`the spec has no operation ${method.toUpperCase()} ${operationPath}`);
    const content = isObject(operation.requestBody) ? operation.requestBody.content : undefined;
    const hasJsonBody = isObject(content) && isObject(content['application/json']);
    const validate = hasJsonBody
      ? this.requestAjv.compile({
          $ref: `${SPEC_ID}#/paths/${escapePointerSegment(operationPath)}/${method.toLowerCase()}/requestBody/content/${escapePointerSegment('application/json')}/schema`,
        })
      : null;
    this.requestValidators.set(key, validate);
    return validate;
  }

  /** Maps each webhook's `data.event_type` enum value to the pointer of the webhook's body schema. */
  private indexWebhooks(): void {
    const webhooks = isObject(this.spec.webhooks) ? this.spec.webhooks : {};
    for (const webhook of Object.values(webhooks)) {
      const schema = (((webhook as JsonObject).post as JsonObject | undefined)?.requestBody as JsonObject | undefined)
        ?.content as JsonObject | undefined;
      const bodyRef = ((schema?.['application/json'] as JsonObject | undefined)?.schema as JsonObject | undefined)
        ?.$ref;
      if (typeof bodyRef !== 'string') continue;
      const body = this.resolve(bodyRef);
      const data = this.resolve((body?.properties as JsonObject | undefined)?.data);
      const eventTypes = ((data?.properties as JsonObject | undefined)?.event_type as JsonObject | undefined)?.enum;
      if (!Array.isArray(eventTypes)) continue;
      for (const eventType of eventTypes) {
        if (typeof eventType === 'string') this.webhookSchemaByEventType.set(eventType, bodyRef.slice(1));
      }
    }
  }

  /** Follows a local `$ref` (or returns the inline schema). */
  private resolve(schemaOrRef: unknown): JsonObject | undefined {
    const ref = typeof schemaOrRef === 'string' ? schemaOrRef : isObject(schemaOrRef) ? schemaOrRef.$ref : undefined;
    if (typeof ref !== 'string') return isObject(schemaOrRef) ? schemaOrRef : undefined;
    let node: unknown = this.spec;
    for (const segment of ref.replace(/^#\//, '').split('/')) {
      node = isObject(node) ? node[segment.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined;
    }
    return isObject(node) ? node : undefined;
  }
}

function toViolation(error: ErrorObject): RequestViolation {
  const missing =
    error.keyword === 'required' ? (error.params as { missingProperty: string }).missingProperty : undefined;
  const pointer = missing === undefined ? error.instancePath || '/' : `${error.instancePath}/${missing}`;
  const allowedValues =
    error.keyword === 'enum' ? (error.params as { allowedValues: unknown[] }).allowedValues : undefined;
  return { keyword: error.keyword, pointer, message: error.message ?? error.keyword, allowedValues };
}

function describeError(error: ErrorObject): string {
  if (error.keyword === 'additionalProperties') {
    const extra = (error.params as { additionalProperty: string }).additionalProperty;
    return `${error.instancePath || '/'}: property "${extra}" is not in the spec's schema`;
  }
  return `${error.instancePath || '/'}: ${error.message ?? error.keyword}`;
}

const validators = new Map<string, TelnyxSpecValidator>();
const warnedPaths = new Set<string>();

/**
 * The validator for the spec at `specPath`, shared per path. When the file is missing it logs a warning
 * once and returns undefined, so the simulator runs without validation.
 */
export function loadTelnyxSpec(
  specPath = defaultSpecPath(),
  warn?: (line: string) => void,
): TelnyxSpecValidator | undefined {
  const cached = validators.get(specPath);
  if (cached) return cached;
  if (!existsSync(specPath)) {
    if (!warnedPaths.has(specPath)) {
      warnedPaths.add(specPath);
      warn?.(`warning: Telnyx spec not found at ${specPath}; requests and webhooks are not validated`);
    }
    return undefined;
  }
  const validator = TelnyxSpecValidator.fromFile(specPath);
  validators.set(specPath, validator);
  return validator;
}

function requireSpec(specPath?: string): TelnyxSpecValidator {
  const path = specPath ?? defaultSpecPath();
  const validator = loadTelnyxSpec(path);
  // Callers of these helpers (tests) must not pass vacuously because the spec is absent.
  if (!validator) throw new Error(`Telnyx spec not found at ${path}`);
  return validator;
}

/** Errors of a webhook body against its event type's schema in the spec (undeclared properties included). */
export function validateTelnyxWebhook(body: unknown, specPath?: string): string[] {
  return requireSpec(specPath).webhookErrors(body);
}

/** Errors of a response body against the operation's response schema, e.g. ('/faxes', 'post', 202, {...}). */
export function validateTelnyxResponse(
  operationPath: string,
  method: string,
  status: number,
  body: unknown,
  specPath?: string,
): string[] {
  return requireSpec(specPath).responseErrors(operationPath, method, status, body);
}

/** Errors of a request body against the operation's request schema, e.g. ('/calls', 'post', {...}). */
export function validateTelnyxRequest(
  operationPath: string,
  method: string,
  body: unknown,
  specPath?: string,
): string[] {
  return requireSpec(specPath)
    .requestViolations(operationPath, method, body)
    .map((violation) => `${violation.pointer}: ${violation.message}`);
}
