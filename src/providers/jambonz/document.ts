import { randomUUID } from 'node:crypto';
import { deliveryControlId } from '../../calls/ids';
import type { CallCommand } from '../../calls/commands';
import type { SessionUrlExtras } from '../session-url';
import { hangupVerb, holdingDocument, mapCommandToVerbs, redirectVerb, type JambonzVerb } from './verbs';
import { hookUrl, JambonzHook, operationHooks } from './webhook';

/**
 * The documents the gateway answers jambonz's hooks with, built from what the session replied: its next
 * commands as one verb array, a holding document, or a hangup. jambonz hangs up once it runs out of verbs,
 * so a document that does not end the call ends with a verb that calls back.
 */

export interface DocumentOptions {
  /** The URL jambonz reaches the gateway at. */
  publicBaseUrl: string;
  /** Keys the tokens of the hook URLs in the document (the first configured webhook secret). */
  secret: string;
}

/**
 * The WebSocket a recording (`listen`) streams to: the gateway's hook endpoint with `hook=listen` and the
 * operation's token, on ws/wss. The gateway stores the audio and names the file after the operation.
 */
export function recordingStreamUrl(options: DocumentOptions, workflowId: string, controlId: string): string {
  return hookUrl(options.publicBaseUrl, options.secret, workflowId, JambonzHook.Listen, controlId).replace(
    /^http/,
    'ws',
  );
}

/** Whether jambonz comes back to us after this verb (its actionHook, a redirect), or the call ends with it. */
export function callsBack(verb: JambonzVerb): boolean {
  switch (verb.verb) {
    case 'hangup':
    case 'sip:decline':
    case 'redirect':
      return true;
    default:
      return 'actionHook' in verb && typeof verb.actionHook === 'string';
  }
}

export interface RenderedDocument {
  verbs: JambonzVerb[];
  /** Commands that could not be expressed as verbs (the session's operation will time out); for the log. */
  skipped: Array<{ commandKey: string; op: string; reason: string }>;
}

/**
 * One verb array for the session's next commands, in order. If the last verb neither calls back nor ends
 * the call (answer, dtmf, tag, config), a redirect to the `next` hook follows, naming the last command so
 * the session learns that jambonz has carried it out (its hand-back).
 */
export function documentForCommands(commands: readonly CallCommand[], options: DocumentOptions): RenderedDocument {
  const verbs: JambonzVerb[] = [];
  const skipped: RenderedDocument['skipped'] = [];
  let lastKey: string | undefined;
  let workflowId: string | undefined;
  for (const command of commands) {
    workflowId ??= command.ownerWorkflowId;
    const hooks = operationHooks({
      publicBaseUrl: options.publicBaseUrl,
      secret: options.secret,
      workflowId: command.ownerWorkflowId,
      controlId: deliveryControlId(command.commandKey, command.delivery),
      recordingStreamUrl: recordingStreamUrl(options, command.ownerWorkflowId, command.commandKey),
    });
    try {
      verbs.push(...mapCommandToVerbs(command, hooks));
      lastKey = deliveryControlId(command.commandKey, command.delivery);
    } catch (err) {
      skipped.push({
        commandKey: command.commandKey,
        op: command.op,
        reason: err instanceof Error ? err.message : String(err),
      });
    }
  }
  if (workflowId === undefined) return { verbs, skipped };
  const last = verbs.at(-1);
  if (last === undefined || !callsBack(last)) {
    verbs.push(redirectVerb({ actionHook: nextHookUrl(options, workflowId, lastKey) }));
  }
  return { verbs, skipped };
}

/**
 * A short pause, then a redirect that asks the session again. Every holding redirect gets its own `hold`
 * nonce: the gateway names each request's update by its URL and body, and two fetches of the same call
 * would otherwise look alike and get the first one's answer again. `extras` (signed) carry the events of a
 * hook Temporal did not take, and a short expiry.
 */
export function holdDocumentFor(
  options: DocumentOptions,
  workflowId: string,
  pauseSeconds?: number,
  extras: SessionUrlExtras = {},
): JambonzVerb[] {
  const url = `${nextHookUrl(options, workflowId, undefined, extras)}&hold=${randomUUID().slice(0, 8)}`;
  return holdingDocument(url, pauseSeconds);
}

/** The answer to a hook of a session that has ended or decided to hang up. */
export function hangupDocument(): JambonzVerb[] {
  return [hangupVerb()];
}

function nextHookUrl(
  options: DocumentOptions,
  workflowId: string,
  controlId?: string,
  extras: SessionUrlExtras = {},
): string {
  return hookUrl(options.publicBaseUrl, options.secret, workflowId, JambonzHook.Next, controlId, extras);
}
