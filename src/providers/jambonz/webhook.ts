import { createHmac, timingSafeEqual } from 'node:crypto';
import { readSessionUrl, sessionToken, sessionUrl, type SessionUrlExtras, type SessionUrlScheme } from '../session-url';
import { isRoomMember, type RoomMember } from '../../calls/supervisor';
import type { IncomingWebhook, VerifyResult } from '../types';

/**
 * jambonz webhook security, in two layers:
 * - `Jambonz-Signature` proves a request came from jambonz (HMAC of the body with the account webhook secret);
 * - a token in the query of every hook URL we hand to jambonz proves that the URL is ours, so the owning
 *   workflow id and operation it names cannot be forged by whoever learns one of our URLs.
 */

/** jambonz sets no tolerance server-side; its SDKs reject a timestamp more than 300 s away. */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

/**
 * Checks `Jambonz-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>...]` against the raw body.
 * `v1` is HMAC-SHA256(secret, "<t>.<raw body>"); jambonz signs the same `JSON.stringify` output it sends,
 * so the raw bytes are what must be hashed. Any of `secrets` may match (rotation).
 */
export function verifyJambonzSignature(
  webhook: Pick<IncomingWebhook, 'headers' | 'rawBody'>,
  secrets: readonly string[],
  nowMs: number = Date.now(),
): VerifyResult {
  const usableSecrets = secrets.filter((secret) => secret.length > 0);
  if (usableSecrets.length === 0) return { ok: false, reason: 'no jambonz webhook secret is configured' };

  const header = headerValue(webhook.headers, 'jambonz-signature');
  if (header === undefined) return { ok: false, reason: 'missing Jambonz-Signature header' };

  const parsed = parseSignatureHeader(header);
  if (!parsed.ok) return { ok: false, reason: `malformed Jambonz-Signature header: ${parsed.reason}` };
  const { timestamp, signatures } = parsed;

  const matches = usableSecrets.some((secret) => {
    const expected = createHmac('sha256', secret).update(`${timestamp}.`).update(webhook.rawBody).digest();
    return signatures.some((candidate) => timingSafeEqual(candidate, expected));
  });
  if (!matches) return { ok: false, reason: 'Jambonz-Signature does not match the body for any configured secret' };

  const skewSeconds = Math.abs(nowMs / 1000 - timestamp);
  if (skewSeconds > SIGNATURE_TOLERANCE_SECONDS) {
    return {
      ok: false,
      reason: `stale Jambonz-Signature: t=${timestamp} is ${Math.round(skewSeconds)} s from now (tolerance ${SIGNATURE_TOLERANCE_SECONDS} s)`,
    };
  }
  return { ok: true };
}

type ParsedSignature = { ok: true; timestamp: number; signatures: Buffer[] } | { ok: false; reason: string };

function parseSignatureHeader(header: string): ParsedSignature {
  let timestamp: number | undefined;
  const signatures: Buffer[] = [];
  for (const element of header.split(',')) {
    const separator = element.indexOf('=');
    if (separator < 0) return { ok: false, reason: `element "${element.trim()}" is not key=value` };
    const key = element.slice(0, separator).trim();
    const value = element.slice(separator + 1).trim();
    if (key === 't') {
      if (!/^\d{1,12}$/.test(value)) return { ok: false, reason: `t="${value}" is not unix seconds` };
      timestamp = Number(value);
    } else if (key === 'v1') {
      if (!/^[0-9a-f]{64}$/i.test(value)) return { ok: false, reason: 'a v1 signature is not 64 hex digits' };
      signatures.push(Buffer.from(value, 'hex'));
    }
    // Other schemes are skipped, so jambonz can add one without breaking verification.
  }
  if (timestamp === undefined) return { ok: false, reason: 'no t= timestamp' };
  if (signatures.length === 0) return { ok: false, reason: 'no v1= signature' };
  return { ok: true, timestamp, signatures };
}

function headerValue(headers: Record<string, string | undefined>, name: string): string | undefined {
  const key = Object.keys(headers).find((candidate) => candidate.toLowerCase() === name);
  return key === undefined ? undefined : headers[key];
}

/** Which jambonz hook a request is; the gateway serves them all on one endpoint, told apart by `?hook=`. */
export const JambonzHook = {
  /** `call_hook`: a new or newly answered call (`session:new`). On the application it names no session. */
  Call: 'call',
  /** `call_status_hook`: status changes of a call and of the legs it dials. On the application it names no session. */
  Status: 'status',
  /** A `redirect` verb or a Live Call Control `call_hook`: the session is asked for its next document. */
  Next: 'next',
  /** The `redirect` that follows a `say`; `say` has no actionHook, so reaching it means the say ended. */
  Say: 'say',
  /** Live Call Control redirect that interrupted a play or say (see `liveControlForCommand`). */
  PlaybackStopped: 'playback-stopped',
  /** Live Call Control redirect that interrupted a gather; a killed gather sends no actionHook of its own. */
  GatherStopped: 'gather-stopped',
  Gather: 'gather',
  Play: 'play',
  Dial: 'dial',
  /** `listen`, our recording mechanism: its actionHook fires when the audio stream ends. */
  Listen: 'listen',
  Enqueue: 'enqueue',
  /** Polled by `enqueue` while the caller waits; only play, say, pause and leave may answer it. */
  Wait: 'wait',
  Dequeue: 'dequeue',
  /** Answering-machine detection results of a call we placed. */
  Amd: 'amd',
  /** A dial's `confirmHook`: the called party answered; its verbs (the whisper) run on that leg before the bridge. */
  Confirm: 'confirm',
  // conferences:
  /** A `conference` verb's actionHook: the member left the conference. */
  Conference: 'conference',
  /**
   * The verbs of a supervised call's other members (the agent moved out of the dial, a supervisor we placed):
   * join the call's room in their role, then hang up. Signed, answered by the gateway without the session.
   */
  Member: 'member',
} as const;
export type JambonzHook = (typeof JambonzHook)[keyof typeof JambonzHook];

const HOOKS = new Set<string>(Object.values(JambonzHook));
/** Hooks configured once on the jambonz application, so their URL cannot carry a session. */
const APPLICATION_HOOKS = new Set<string>([JambonzHook.Call, JambonzHook.Status]);

/**
 * jambonz sends a status hook once unless its URL asks for retries (`#rc=<count>&rp=<what>`, up to 5; 0.5, 1, 2,
 * 4, 6 s apart). While Temporal is unreachable the gateway answers a status hook 503 at its deadline (it never
 * acknowledges an event Temporal does not have), so with five retries a status change survives an outage of
 * about a minute. `all`, not just connect errors, timeouts and 5xx: a gateway killed mid-request closes the
 * connection, which is none of those. Retrying is safe: the session drops an event it already has by its id.
 */
export const STATUS_HOOK_RETRIES = '#rc=5&rp=all';

/** Path of the gateway endpoint that serves every jambonz hook, below the public base URL. */
export const JAMBONZ_HOOK_PATH = '/webhooks/jambonz';

/** Hook URLs name the hook, the session (`wf`) and the operation (`op`); the token covers all three. */
const HOOK_URLS: SessionUrlScheme<'hook' | 'wf' | 'op'> = {
  scope: 'jambonz-hook',
  params: ['hook', 'wf', 'op'],
  tokenParam: 'token',
};

/**
 * The URL we give jambonz for one hook of a session: `<base>/webhooks/jambonz?hook=..&wf=..&op=..&token=..`.
 * `controlId` (the command key of the operation) rides along so the events the hook produces can be matched
 * to their operation. jambonz keeps the query string when it calls an absolute hook URL.
 */
export function hookUrl(
  publicBaseUrl: string,
  secret: string,
  workflowId: string,
  hook: JambonzHook,
  controlId?: string,
  /** An expiry and carried events (a hold served while Temporal is unreachable); none by default. */
  extras: SessionUrlExtras = {},
): string {
  return sessionUrl(
    HOOK_URLS,
    { publicBaseUrl, path: JAMBONZ_HOOK_PATH, secret },
    hookParams(hook, workflowId, controlId),
    extras,
  );
}

/**
 * Confirm hooks carry the text the gateway answers them with (`say`), signed with the rest, so the gateway
 * answers them without asking the session and a forged one cannot make it speak arbitrary text.
 */
const CONFIRM_URLS: SessionUrlScheme<'hook' | 'wf' | 'op' | 'say'> = {
  scope: 'jambonz-confirm',
  params: ['hook', 'wf', 'op', 'say'],
  tokenParam: 'token',
};

/** The confirmHook of a dial that whispers `text` to the called party. */
export function confirmHookUrl(
  publicBaseUrl: string,
  secret: string,
  workflowId: string,
  controlId: string,
  text: string,
): string {
  return sessionUrl(
    CONFIRM_URLS,
    { publicBaseUrl, path: JAMBONZ_HOOK_PATH, secret },
    { ...hookParams(JambonzHook.Confirm, workflowId, controlId), say: text },
  );
}

export type ConfirmHookResult = { ok: true; workflowId: string; text: string } | { ok: false; reason: string };

/** Member hooks carry the room and the role, signed with the rest (see `JambonzHook.Member`). */
const MEMBER_URLS: SessionUrlScheme<'hook' | 'wf' | 'op' | 'room' | 'as'> = {
  scope: 'jambonz-member',
  params: ['hook', 'wf', 'op', 'room', 'as'],
  tokenParam: 'token',
};

/** The URL whose verbs put a call in `room` as `as` (a call_hook of a supervisor, a child_call_hook of the agent). */
export function memberHookUrl(
  publicBaseUrl: string,
  secret: string,
  workflowId: string,
  controlId: string,
  room: string,
  as: RoomMember,
): string {
  return sessionUrl(
    MEMBER_URLS,
    { publicBaseUrl, path: JAMBONZ_HOOK_PATH, secret },
    { ...hookParams(JambonzHook.Member, workflowId, controlId), room, as },
  );
}

export type MemberHookResult =
  | { ok: true; workflowId: string; room: string; as: RoomMember }
  | { ok: false; reason: string };

/** Reads and checks a member hook's URL (see `memberHookUrl`). */
export function verifyMemberHook(url: string, secrets: readonly string[]): MemberHookResult {
  const read = readSessionUrl(MEMBER_URLS, url, secrets);
  if (read.verdict !== 'valid') return { ok: false, reason: `member hook URL refused (${read.verdict})` };
  const { hook, wf: workflowId, room, as } = read.values;
  if (hook !== JambonzHook.Member || workflowId === undefined || !room || !isRoomMember(as))
    return { ok: false, reason: 'a member hook must name its session, its room and how the member joins' };
  return { ok: true, workflowId, room, as };
}

/** Reads and checks a confirm hook's URL (see `confirmHookUrl`). */
export function verifyConfirmHook(url: string, secrets: readonly string[]): ConfirmHookResult {
  const read = readSessionUrl(CONFIRM_URLS, url, secrets);
  if (read.verdict !== 'valid') return { ok: false, reason: `confirm hook URL refused (${read.verdict})` };
  const { hook, wf: workflowId, say: text } = read.values;
  if (hook !== JambonzHook.Confirm || workflowId === undefined || text === undefined)
    return { ok: false, reason: 'a confirm hook must name its session and carry the text to say' };
  return { ok: true, workflowId, text };
}

/** The `call_hook` or `call_status_hook` to configure on the jambonz application (no session yet, no token). */
export function applicationHookUrl(
  publicBaseUrl: string,
  hook: typeof JambonzHook.Call | typeof JambonzHook.Status,
): string {
  const url = new URL(`${publicBaseUrl.replace(/\/+$/, '')}${JAMBONZ_HOOK_PATH}`);
  url.searchParams.set('hook', hook);
  return hook === JambonzHook.Status ? `${url.toString()}${STATUS_HOOK_RETRIES}` : url.toString();
}

export type HookTokenResult =
  | { ok: true; hook: JambonzHook; workflowId?: string; controlId?: string; carried?: string }
  | { ok: false; reason: string };

/**
 * Reads and checks the query of a hook request (absolute URL or path with query). Application hooks may come
 * without a session; every other hook must carry a workflow id with a token made by one of `secrets`.
 */
export function verifyHookToken(url: string, secrets: readonly string[], nowMs = Date.now()): HookTokenResult {
  const read = readSessionUrl(HOOK_URLS, url, secrets, nowMs);
  if (read.verdict === 'unreadable') return { ok: false, reason: `unreadable hook URL: ${url}` };
  const { hook, wf: workflowId, op: controlId } = read.values;
  if (hook === undefined || !HOOKS.has(hook)) return { ok: false, reason: `unknown hook "${hook ?? ''}"` };
  const knownHook = hook as JambonzHook;

  if (workflowId === undefined && controlId === undefined && read.verdict === 'unsigned') {
    return APPLICATION_HOOKS.has(knownHook)
      ? { ok: true, hook: knownHook }
      : { ok: false, reason: `hook "${knownHook}" must name its session (wf) and carry a token` };
  }
  if (workflowId === undefined || read.verdict === 'unsigned') {
    return { ok: false, reason: `hook "${knownHook}" has a partial session reference (wf and token go together)` };
  }
  if (read.verdict === 'invalid') {
    return { ok: false, reason: `hook "${knownHook}" token does not match its workflow id and operation` };
  }
  if (read.verdict === 'expired') return { ok: false, reason: `hook "${knownHook}" URL refused: ${read.reason}` };
  const carried = read.extras?.carried;
  return { ok: true, hook: knownHook, workflowId, controlId, ...(carried !== undefined && { carried }) };
}

/** The token of one hook URL (what `hookUrl` puts in `token`). */
export function hookToken(secret: string, hook: JambonzHook, workflowId: string, controlId?: string): string {
  return sessionToken(HOOK_URLS, secret, hookParams(hook, workflowId, controlId));
}

function hookParams(hook: JambonzHook, workflowId: string, controlId: string | undefined) {
  return { hook, wf: workflowId, ...(controlId !== undefined && { op: controlId }) };
}

/** The hook URLs of one operation of one session, as the verb builders and Live Call Control need them. */
export interface OperationHooks {
  /** The workflow that owns the call; tagged on the call so legs we cannot route by URL still find it. */
  readonly ownerWorkflowId: string;
  /** URL jambonz calls for `hook` of this operation. */
  url(hook: JambonzHook): string;
  /** The confirmHook that has the called party of this operation's dial hear `text` (see `confirmHookUrl`). */
  confirmUrl(text: string): string;
  /** The URL whose verbs put a call in `room` as `as` (see `memberHookUrl`). */
  memberUrl(room: string, as: RoomMember): string;
  /**
   * WebSocket URL that receives call audio and stores it: jambonz records by streaming (`listen`), because
   * its `record` verb cannot run. Without it `recordStart` is refused.
   */
  readonly recordingStreamUrl?: string;
}

export function operationHooks(input: {
  publicBaseUrl: string;
  secret: string;
  workflowId: string;
  /** The command key of the operation. */
  controlId: string;
  recordingStreamUrl?: string;
}): OperationHooks {
  const { publicBaseUrl, secret, workflowId, controlId, recordingStreamUrl } = input;
  return {
    ownerWorkflowId: workflowId,
    url: (hook) => hookUrl(publicBaseUrl, secret, workflowId, hook, controlId),
    confirmUrl: (text) => confirmHookUrl(publicBaseUrl, secret, workflowId, controlId, text),
    memberUrl: (room, as) => memberHookUrl(publicBaseUrl, secret, workflowId, controlId, room, as),
    recordingStreamUrl,
  };
}
