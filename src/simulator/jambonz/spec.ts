import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ValidateFunction } from 'ajv';
import { sharedSpecsDir } from '../spec-files';
import { componentSchema, readSwagger, requestSchema, SWAGGER_FILE, swaggerAjv, type Swagger } from './swagger';
import { VERB_SPECS_FILE, VerbSpecError, VerbSpecValidator } from './verb-spec';

/**
 * The simulator's view of jambonz's official specs: the verb specifications (every document it receives)
 * and the REST swagger (every Live Call Control and createCall body). The swagger is stale
 * (research/jambonz.md §0): properties it leaves out or describes wrongly are checked by their own rules
 * here, as the api-server and feature-server code read them.
 */

/** `<repo root>/../shared/specs`, the folder the Telnyx spec lives in too. */
export function defaultSpecDir(): string {
  return sharedSpecsDir();
}

/**
 * Update-call properties the 2024 swagger leaves out or gets wrong: `whisper` is a say/play verb (or an
 * array of them), not a Webhook; the others are absent. Each is checked below or by the combination rules.
 */
const STALE_UPDATE_CALL_PROPERTIES = [
  'whisper',
  'call_status_hook',
  'wait_hook',
  'tag',
  'transcribe_status',
  'dtmf',
  'dub',
  'boostAudioSignal',
  'media_path',
];
/** createCall properties the swagger leaves out (research/jambonz.md §2.1); the feature server's rest:dial spec covers them. */
const STALE_CREATE_CALL_PROPERTIES = [
  'speech_synthesis_vendor',
  'speech_synthesis_language',
  'speech_synthesis_voice',
  'speech_recognizer_vendor',
  'speech_recognizer_language',
  'amd',
  'callerName',
  'referHook',
  'dual_streams',
];
/** Hooks the servers accept as a URL string too (`hook.url || hook`), where the swagger says Webhook. */
const HOOK_PROPERTIES = ['call_hook', 'child_call_hook', 'call_status_hook'];

export class JambonzSpecValidator {
  private readonly updateCall: ValidateFunction;
  private readonly createCall: ValidateFunction;
  private readonly callRecord: ValidateFunction;

  constructor(
    readonly verbs: VerbSpecValidator,
    swagger: Swagger,
  ) {
    const ajv = swaggerAjv(swagger, { allErrors: true });
    this.updateCall = ajv.compile(requestSchema(swagger, '/Accounts/{AccountSid}/Calls/{CallSid}', 'post'));
    this.createCall = ajv.compile(requestSchema(swagger, '/Accounts/{AccountSid}/Calls', 'post'));
    this.callRecord = ajv.compile(componentSchema(swagger, 'Call'));
  }

  static fromDir(dir: string): JambonzSpecValidator {
    return new JambonzSpecValidator(
      VerbSpecValidator.fromFile(join(dir, VERB_SPECS_FILE)),
      readSwagger(join(dir, SWAGGER_FILE)),
    );
  }

  /** What is wrong with a Live Call Control body against the swagger's UpdateCall schema and the stale properties' real shapes. */
  updateCallViolations(body: Record<string, unknown>): string[] {
    const violations = this.schemaErrors(this.updateCall, documented(body, STALE_UPDATE_CALL_PROPERTIES));
    if (body.whisper !== undefined) {
      const whisperError = this.whisperViolation(body.whisper);
      if (whisperError) violations.push(whisperError);
    }
    if (body.call_status_hook !== undefined && !isHook(body.call_status_hook)) {
      violations.push('/call_status_hook must be a URL or an object with a url');
    }
    if (body.wait_hook !== undefined && !isHook(body.wait_hook))
      violations.push('/wait_hook must be a URL or an object with a url');
    return violations;
  }

  /** What is wrong with a createCall body against the swagger (its stale omissions left to the rest:dial spec). */
  createCallViolations(body: Record<string, unknown>): string[] {
    return this.schemaErrors(this.createCall, documented(body, STALE_CREATE_CALL_PROPERTIES));
  }

  /** The feature server runs a createCall body (application defaults merged in) through its `rest:dial` verb spec. */
  restDialViolation(body: Record<string, unknown>): string | undefined {
    try {
      this.verbs.validateEntry('rest:dial', body);
      return undefined;
    } catch (err) {
      if (err instanceof VerbSpecError) return err.message;
      throw err;
    }
  }

  /** What is wrong with a call record (GET /Calls/{CallSid}) against the swagger's Call schema. */
  callRecordViolations(record: unknown): string[] {
    return this.schemaErrors(this.callRecord, record);
  }

  /** `whisper` is one say/play verb or an array of them (feature server `_lccWhisper`); a URL is no longer accepted. */
  private whisperViolation(whisper: unknown): string | undefined {
    const prompts = Array.isArray(whisper) ? whisper : [whisper];
    try {
      const verbs = this.verbs.validateDocument(prompts);
      if (verbs.length === 0 || verbs.some((verb) => verb.name !== 'say' && verb.name !== 'play')) {
        return '/whisper must be one or more say or play verbs';
      }
      return undefined;
    } catch (err) {
      if (err instanceof VerbSpecError) return `/whisper: ${err.message}`;
      throw err;
    }
  }

  private schemaErrors(validate: ValidateFunction, value: unknown): string[] {
    if (validate(value)) return [];
    return (validate.errors ?? []).map((error) => `${error.instancePath || '/'} ${error.message ?? error.keyword}`);
  }
}

/** The body without the stale properties, with URL-string hooks in the Webhook shape the swagger knows. */
function documented(body: Record<string, unknown>, stale: readonly string[]): Record<string, unknown> {
  const entries = Object.entries(body)
    .filter(([key]) => !stale.includes(key))
    .map(([key, value]) => [key, HOOK_PROPERTIES.includes(key) && typeof value === 'string' ? { url: value } : value]);
  return Object.fromEntries(entries) as Record<string, unknown>;
}

function isHook(value: unknown): boolean {
  if (typeof value === 'string') return value.length > 0;
  return typeof value === 'object' && value !== null && typeof (value as { url?: unknown }).url === 'string';
}

const validators = new Map<string, JambonzSpecValidator>();
const warnedDirs = new Set<string>();

/**
 * The validator for the specs in `dir`, shared per folder. When a spec file is missing it logs a warning
 * once and returns undefined, so the simulator runs without validation.
 */
export function loadJambonzSpecs(
  dir = defaultSpecDir(),
  warn?: (line: string) => void,
): JambonzSpecValidator | undefined {
  const cached = validators.get(dir);
  if (cached) return cached;
  const missing = [VERB_SPECS_FILE, SWAGGER_FILE].filter((file) => !existsSync(join(dir, file)));
  if (missing.length > 0) {
    if (!warnedDirs.has(dir)) {
      warnedDirs.add(dir);
      warn?.(`warning: ${missing.join(' and ')} not found in ${dir}; verbs and REST bodies are not validated`);
    }
    return undefined;
  }
  const validator = JambonzSpecValidator.fromDir(dir);
  validators.set(dir, validator);
  return validator;
}
