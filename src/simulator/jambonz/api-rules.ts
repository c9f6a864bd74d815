/**
 * The api server's own checks of REST bodies, with its messages (jambonz-api-server
 * lib/routes/api/accounts.js at dd755f87, research/jambonz.md §1.2 and §2.1). Messages marked "simulator
 * wording" belong to checks the research describes without quoting their text.
 */

type Data = Record<string, unknown>;

/** The properties validateUpdateCall counts as the request's action; `whisper` rides along, uncounted. */
const COUNTED_ACTIONS = [
  'call_hook',
  'child_call_hook',
  'call_status',
  'listen_status',
  'transcribe_status',
  'conf_hold_status',
  'conf_mute_status',
  'mute_status',
  'sip_request',
  'record',
  'tag',
  'dtmf',
  'conferenceParticipantAction',
  'dub',
  'boostAudioSignal',
  'media_path',
];

const ENUMS: Record<string, readonly string[]> = {
  call_status: ['completed', 'no-answer'],
  listen_status: ['pause', 'silence', 'resume'],
  transcribe_status: ['pause', 'resume', 'silence'],
  mute_status: ['mute', 'unmute'],
  conf_hold_status: ['hold', 'unhold'],
  conf_mute_status: ['mute', 'unmute'],
  media_path: ['no-media', 'partial-media', 'full-media'],
};
const PARTICIPANT_ACTIONS = ['tag', 'untag', 'coach', 'uncoach', 'mute', 'unmute', 'hold', 'unhold'];
const RECORD_ACTIONS = ['startCallRecording', 'stopCallRecording', 'pauseCallRecording', 'resumeCallRecording'];

/** The api server's 400 message for a Live Call Control body, or undefined when it passes. */
export function updateCallRuleViolation(body: Data): string | undefined {
  // Counted by truthiness, as the api server does.
  const count = COUNTED_ACTIONS.filter((key) => Boolean(body[key])).length;
  if (count === 0 && !body.whisper) return 'no valid options supplied to updateCall';
  // The code also lets conf_hold_status pair with `waitHook`, which it never counts, so that pair cannot occur.
  if (count > 1 && !(count === 2 && body.call_hook && body.child_call_hook))
    return 'multiple options are not allowed in updateCall';
  for (const [key, allowed] of Object.entries(ENUMS)) {
    if (body[key] && !allowed.includes(body[key] as string)) return `invalid ${key}`;
  }
  const sipRequest = body.sip_request as Data | undefined;
  if (sipRequest && (!sipRequest.method || !sipRequest.content_type || !sipRequest.content)) {
    return 'sip_request requires method, content_type and content properties'; // simulator wording
  }
  const record = body.record as Data | undefined;
  if (record) {
    if (!record.action) return 'record requires action property';
    if (!RECORD_ACTIONS.includes(record.action as string)) return 'invalid record action'; // simulator wording
    if (record.action === 'startCallRecording' && record.type !== 'cloud' && !record.siprecServerURL) {
      return 'record requires siprecServerURL property when starting recording';
    }
  }
  const participant = body.conferenceParticipantAction as Data | undefined;
  if (participant) {
    if (!PARTICIPANT_ACTIONS.includes(participant.action as string)) return 'invalid conferenceParticipantAction'; // simulator wording
    if ((participant.action === 'tag' || participant.action === 'coach') && !participant.tag) {
      return `conferenceParticipantAction ${String(participant.action)} requires tag`; // simulator wording
    }
  }
  return undefined;
}

/** What createCall needs from the account: its application and the speech defaults that come with it. */
export interface CreateCallContext {
  accountSid: string;
  applicationSid: string;
  callHookUrl: string;
  statusHookUrl: string;
  speechDefaults: {
    speech_synthesis_vendor: string;
    speech_synthesis_language: string;
    speech_synthesis_voice: string;
    speech_recognizer_vendor: string;
    speech_recognizer_language: string;
  };
}

const SPEECH_KEYS = [
  'speech_synthesis_vendor',
  'speech_synthesis_language',
  'speech_synthesis_voice',
  'speech_recognizer_vendor',
  'speech_recognizer_language',
] as const;

/**
 * validateCreateCall: the body as the api server forwards it (the application's hooks and speech settings
 * merged in, string hooks turned into `{url, method: 'POST'}`, `account_sid` added), or its 400 message.
 */
export function prepareCreateCall(
  pathAccountSid: string,
  input: Data,
  context: CreateCallContext,
): { body: Data } | { error: string } {
  if (pathAccountSid !== context.accountSid)
    return { error: `unauthorized createCall request for account ${pathAccountSid}` };
  const body: Data = { ...input, account_sid: pathAccountSid };
  if (!body.from) return { error: 'missing from parameter' };
  if (!validTarget(body.to)) return { error: `missing or invalid to property: ${JSON.stringify(body.to)}` };
  if (body.application_sid) {
    if (body.application_sid !== context.applicationSid) {
      const given =
        typeof body.application_sid === 'string' ? body.application_sid : JSON.stringify(body.application_sid);
      return { error: `application_sid not found ${given}` };
    }
    Object.assign(body, {
      call_hook: { url: context.callHookUrl, method: 'POST' },
      call_status_hook: { url: context.statusHookUrl, method: 'POST' },
      ...context.speechDefaults,
    });
  } else {
    delete body.application_sid;
    if (SPEECH_KEYS.some((key) => !body[key])) {
      return {
        error:
          'either application_sid or set of speech_synthesis_vendor, speech_synthesis_language, speech_synthesis_voice, ' +
          'speech_recognizer_vendor, speech_recognizer_language required',
      };
    }
  }
  if (!body.call_hook) return { error: 'either call_hook or application_sid required' };
  for (const key of ['call_hook', 'call_status_hook'] as const) {
    if (typeof body[key] === 'string') body[key] = { url: body[key], method: 'POST' };
    const hook = body[key] as Data | undefined;
    if (hook === undefined) continue;
    if (typeof hook.url !== 'string') return { error: `${key} must be string or an object containing a url property` };
    if (!/^(https?|wss?):/.test(hook.url)) return { error: `${key} url be an absolute url` };
  }
  return { body };
}

function validTarget(to: unknown): boolean {
  if (typeof to !== 'object' || to === null) return false;
  const target = to as Data;
  switch (target.type) {
    case 'phone':
    case 'teams':
      return typeof target.number === 'string';
    case 'user':
      return typeof target.name === 'string';
    case 'sip':
      return typeof target.sipUri === 'string';
    default:
      return false;
  }
}
