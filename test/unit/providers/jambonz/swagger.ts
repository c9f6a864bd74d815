import { join } from 'node:path';
import type { ValidateFunction } from 'ajv';
import { defaultJambonzSpecDir } from '../../../../src/simulator/jambonz';
import {
  readSwagger,
  requestSchema,
  SWAGGER_FILE,
  swaggerAjv,
  type Schema,
} from '../../../../src/simulator/jambonz/swagger';

/**
 * Validators for request bodies of jambonz's REST API swagger (shared/specs/jambonz-api.swagger.yaml, loaded
 * by src/simulator/jambonz/swagger.ts, which the simulator shares).
 *
 * The swagger was last edited in 2024-05 and is stale (research/jambonz.md §0, §1): the api-server and
 * feature-server code accept properties it leaves out, and `whisper` no longer has the shape it gives.
 * The request schemas are open (no `additionalProperties: false`), so a missing property would pass
 * unnoticed; `closedRequestErrors` closes them, and each documented exception is checked on its own by
 * `staleSwaggerProperties`, so the exception list must shrink if the swagger catches up.
 */

export const SWAGGER_PATH = join(defaultJambonzSpecDir(), SWAGGER_FILE);

const swagger = readSwagger(SWAGGER_PATH);
const ajv = swaggerAjv(swagger, { allErrors: true });

/** `POST /Accounts/{AccountSid}/Calls/{CallSid}`: the swagger documents update-call as POST only. */
export const updateCallSchema = requestSchema(swagger, '/Accounts/{AccountSid}/Calls/{CallSid}', 'post');
export const createCallSchema = requestSchema(swagger, '/Accounts/{AccountSid}/Calls', 'post');

const compiled = new Map<Schema, ValidateFunction>();
function validatorFor(schema: Schema): ValidateFunction {
  let validate = compiled.get(schema);
  if (!validate) {
    validate = ajv.compile({ ...schema, additionalProperties: false });
    compiled.set(schema, validate);
  }
  return validate;
}

/**
 * The errors of `body` against the request schema closed to its documented properties, leaving out the
 * `exceptions` (properties known to be stale in the swagger); '' when it is valid.
 */
export function closedRequestErrors(schema: Schema, body: object, exceptions: readonly string[]): string {
  const documented = Object.fromEntries(Object.entries(body).filter(([key]) => !exceptions.includes(key)));
  const validate = validatorFor(schema);
  return validate(documented) ? '' : ajv.errorsText(validate.errors, { separator: '\n' });
}

/**
 * The properties of `body` the swagger does not describe as sent: absent from its schema, or with a value
 * its (closed) property schema rejects. Used to prove each documented exception is still needed.
 */
export function staleSwaggerProperties(schema: Schema, body: object): string[] {
  return Object.entries(body)
    .filter(([key, value]) => {
      const propertySchema = schema.properties?.[key];
      return propertySchema === undefined || !ajv.validate(closedProperty(propertySchema), value);
    })
    .map(([key]) => key);
}

/** A property schema (following one `$ref`) that allows only the properties it lists. */
function closedProperty(schema: Schema): Schema {
  const reference = typeof schema.$ref === 'string' ? schema.$ref : undefined;
  const target = reference ? (ajv.getSchema(reference)?.schema as Schema | undefined) : schema;
  if (!target) throw new Error(`unresolvable ${reference ?? 'schema'} in the swagger`);
  return target.properties ? { ...target, additionalProperties: false } : target;
}

/**
 * createCall properties the 2024 swagger leaves out but the api-server takes (research/jambonz.md §2.1): the speech
 * defaults jambonz requires without an application_sid, and `amd`.
 */
export const STALE_IN_CREATE_CALL_SWAGGER = [
  'speech_synthesis_vendor',
  'speech_synthesis_language',
  'speech_synthesis_voice',
  'speech_recognizer_vendor',
  'speech_recognizer_language',
  'amd',
];
