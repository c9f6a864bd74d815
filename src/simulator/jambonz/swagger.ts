import { readFileSync } from 'node:fs';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';

/**
 * jambonz's REST API swagger (shared/specs/jambonz-api.swagger.yaml, OpenAPI 3.0), read as draft-07 JSON
 * Schema with strict: false for `example` and friends. Shared by the simulator and the adapter's tests.
 */

export const SWAGGER_FILE = 'jambonz-api.swagger.yaml';

export type Schema = Record<string, unknown> & { properties?: Record<string, Schema> };
export interface Swagger {
  components: Record<string, unknown>;
  paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: Schema }> } }>>;
}

/** The id the swagger's components are registered under; `$ref`s are rewritten to point into it. */
const COMPONENTS_ID = 'jambonz';

export function readSwagger(path: string): Swagger {
  return parse(readFileSync(path, 'utf8')) as Swagger;
}

/** An Ajv that resolves the swagger's `$ref`s and understands its `format: url`. */
export function swaggerAjv(swagger: Swagger, options: { allErrors: boolean }): Ajv {
  const ajv = new Ajv({ strict: false, allErrors: options.allErrors });
  addFormats(ajv);
  // The swagger writes `format: url`, which is not a JSON Schema format; check it as an absolute URL.
  ajv.addFormat('url', /^(https?|wss?):\/\/\S+$/);
  ajv.addSchema({ $id: COMPONENTS_ID, components: swagger.components });
  return ajv;
}

/** A request body schema of the swagger with its `$ref`s pointing into the registered components. */
export function requestSchema(swagger: Swagger, pathName: string, method: string): Schema {
  const schema = swagger.paths[pathName]?.[method]?.requestBody?.content['application/json']?.schema;
  if (!schema) throw new Error(`no JSON request body for ${method.toUpperCase()} ${pathName} in the swagger`);
  return rewriteRefs(schema);
}

/** A component schema (e.g. `Call`), with its `$ref`s pointing into the registered components. */
export function componentSchema(swagger: Swagger, name: string): Schema {
  const schemas = swagger.components.schemas as Record<string, Schema> | undefined;
  const schema = schemas?.[name];
  if (!schema) throw new Error(`no component schema ${name} in the swagger`);
  return rewriteRefs(schema);
}

function rewriteRefs(schema: Schema): Schema {
  return JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', `"${COMPONENTS_ID}#/components/`)) as Schema;
}
