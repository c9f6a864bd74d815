import { readFileSync } from 'node:fs';

/**
 * A validator for jambonz verb documents against the official verb specifications
 * (shared/specs/jambonz-verbs.specs.json, @jambonz/verb-specifications 0.1.13). The simulator runs every
 * document it receives through it, and the adapter's tests use it for every document they build.
 *
 * specs.json is not JSON Schema. Each entry is `{properties, required}`; a property's spec is
 * - a type name: 'string' | 'number' | 'boolean' | 'object' | 'array';
 * - a union of those: 'object|string', 'number|string', 'string|array';
 * - a reference to another entry: '#synthesizer'; in an array, ['#target'] (each item is that entry);
 * - an object `{type, enum}`: the value must be in `enum` (for strings).
 * The checks below are the feature server's (`validateVerb` in verb-specifications, run by `makeTask`):
 * an unknown property is an error (except `_`), types are `typeof` checks, required properties must be
 * present. Two checks go further: only names the feature server can turn into a task are verbs (`record`
 * and the nested types such as `target` or `synthesizer` are entries of the spec, not verbs), and an
 * `{type, enum}` property must also have that type (the feature server checks only the enum).
 */

type PropertySpec = string | string[] | { type: string; enum?: string[] };
interface EntrySpec {
  properties: Record<string, PropertySpec>;
  required?: string[];
}
export type VerbSpecs = Record<string, EntrySpec>;

export const VERB_SPECS_FILE = 'jambonz-verbs.specs.json';

/** Verbs the feature server can run (research/jambonz.md §4), with the aliases it rewrites first. */
const EXECUTABLE_VERBS = new Set([
  'answer',
  'alert',
  'say',
  'play',
  'gather',
  'dial',
  'enqueue',
  'dequeue',
  'leave',
  'conference',
  'hangup',
  'listen',
  'transcribe',
  'pause',
  'redirect',
  'sip:decline',
  'sip:refer',
  'sip:request',
  'tag',
  'config',
  'dtmf',
  'dub',
  'message',
  'lex',
  'dialogflow',
  'rasa',
  'llm',
]);
const ALIASES: Record<string, string> = { stream: 'listen', s2s: 'llm' };

export class VerbSpecError extends Error {
  override readonly name = 'VerbSpecError';
}

/** A verb as the feature server runs it: its name (aliases resolved) and its properties. */
export interface NormalisedVerb {
  name: string;
  data: Record<string, unknown>;
}

export class VerbSpecValidator {
  constructor(private readonly specs: VerbSpecs) {}

  static fromFile(path: string): VerbSpecValidator {
    return new VerbSpecValidator(JSON.parse(readFileSync(path, 'utf8')) as VerbSpecs);
  }

  /**
   * Validates a verb array as jambonz receives it (pass the JSON-decoded document, so undefined properties
   * are gone, as on the wire) and returns its verbs. Throws `VerbSpecError` naming the first violation.
   */
  validateDocument(document: unknown): NormalisedVerb[] {
    const verbs = normaliseVerbs(document);
    verbs.forEach((verb, index) => this.validateEntry(verb.name, verb.data, `item ${index} (${verb.name})`));
    return verbs;
  }

  /** Validates `data` against the spec entry `name` (a verb or a nested type). */
  validateEntry(name: string, data: unknown, where = name): void {
    const spec = this.specs[name];
    if (spec === undefined) throw new VerbSpecError(`${where}: invalid instruction: ${name}`);
    if (typeof data !== 'object' || data === null || Array.isArray(data)) {
      throw new VerbSpecError(`${where}: expected an object`);
    }
    const record = data as Record<string, unknown>;
    for (const [key, value] of Object.entries(record)) {
      const propertySpec = spec.properties[key];
      if (propertySpec === undefined) {
        if (key === '_') continue; // the feature server lets `_` carry arbitrary data
        throw new VerbSpecError(`${where}: unknown property ${key}`);
      }
      this.validateProperty(propertySpec, value, `${where}.${key}`);
    }
    const missing = (spec.required ?? []).filter((key) => record[key] === undefined);
    if (missing.length > 0) throw new VerbSpecError(`${where}: missing value for ${missing.join(',')}`);
  }

  private validateProperty(spec: PropertySpec, value: unknown, where: string): void {
    if (Array.isArray(spec)) {
      const [reference] = spec;
      if (reference === undefined || !reference.startsWith('#')) throw new VerbSpecError(`${where}: unreadable spec`);
      if (!Array.isArray(value)) throw new VerbSpecError(`${where}: expected an array of ${reference.slice(1)}`);
      value.forEach((item, index) => this.validateEntry(reference.slice(1), item, `${where}[${index}]`));
      return;
    }
    if (typeof spec === 'object') {
      if (typeof value !== spec.type) throw new VerbSpecError(`${where}: expected ${spec.type}`);
      if (spec.enum && !spec.enum.includes(value as string)) {
        throw new VerbSpecError(`${where}: invalid value ${String(value)} must be one of ${spec.enum.join(',')}`);
      }
      return;
    }
    if (spec.startsWith('#')) {
      this.validateEntry(spec.slice(1), value, where);
      return;
    }
    const types = spec.split('|').map((type) => type.trim());
    const matches = types.some((type) => (type === 'array' ? Array.isArray(value) : typeof value === type));
    if (!matches) throw new VerbSpecError(`${where}: has invalid data type, must be one of ${types.join(',')}`);
  }
}

/**
 * A verb array in `{name, data}` form, aliases resolved, as `normalizeJambones` and `makeTask` read it, without
 * checking the verbs' properties. Throws `VerbSpecError` for a document of the wrong shape or an unknown verb.
 */
export function normaliseVerbs(document: unknown): NormalisedVerb[] {
  if (!Array.isArray(document)) throw new VerbSpecError('malformed jambonz payload: must be array');
  return document.map((item: unknown, index) => {
    if (typeof item !== 'object' || item === null) {
      throw new VerbSpecError(`item ${index}: malformed jambonz payload: must be array of objects`);
    }
    const { name, data } = normalise(item as Record<string, unknown>, index);
    const verb = ALIASES[name] ?? name;
    if (!EXECUTABLE_VERBS.has(verb)) throw new VerbSpecError(`item ${index}: invalid instruction: ${name}`);
    return { name: verb, data };
  });
}

/** `{verb: 'say', ...}` or `{say: {...}}`, as `normalizeJambones` accepts them. */
function normalise(item: Record<string, unknown>, index: number): NormalisedVerb {
  if ('verb' in item) {
    const { verb, ...data } = item;
    if (typeof verb !== 'string') throw new VerbSpecError(`item ${index}: verb is not a string`);
    return { name: verb, data };
  }
  const keys = Object.keys(item);
  const [name] = keys;
  if (keys.length !== 1 || name === undefined) {
    throw new VerbSpecError(`item ${index}: malformed jambonz payload: missing verb property`);
  }
  const data = item[name];
  if (typeof data !== 'object' || data === null) throw new VerbSpecError(`item ${index}: invalid instruction payload`);
  return { name, data: data as Record<string, unknown> };
}
