import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Search attributes of call sessions, so the Temporal UI can filter "answered calls in queue sales on
 * telnyx" and show a call's story in the list. They are stored unencrypted: `CallFrom`/`CallTo`/`CallAgent`
 * hold phone numbers.
 */
export const CallProviderKey = defineSearchAttributeKey('CallProvider', SearchAttributeType.KEYWORD);
export const CallStatusKey = defineSearchAttributeKey('CallStatus', SearchAttributeType.KEYWORD);
export const CallDirectionKey = defineSearchAttributeKey('CallDirection', SearchAttributeType.KEYWORD);
export const CallFlowKey = defineSearchAttributeKey('CallFlow', SearchAttributeType.KEYWORD);
export const CallQueueKey = defineSearchAttributeKey('CallQueue', SearchAttributeType.KEYWORD);
export const CallFromKey = defineSearchAttributeKey('CallFrom', SearchAttributeType.KEYWORD);
export const CallToKey = defineSearchAttributeKey('CallTo', SearchAttributeType.KEYWORD);
/** How the call went (`CallOutcomeValue`), set when the session is done. */
export const CallOutcomeKey = defineSearchAttributeKey('CallOutcome', SearchAttributeType.KEYWORD);
/** Seconds the caller spent bridged to another leg (an agent), set when the session is done. */
export const CallTalkSecondsKey = defineSearchAttributeKey('CallTalkSeconds', SearchAttributeType.INT);
/** Seconds from the start of the session to the answer, set when the call is answered. */
export const CallAnswerSecondsKey = defineSearchAttributeKey('CallAnswerSeconds', SearchAttributeType.INT);
/** The address of the leg the caller was bridged to (the agent), set at the bridge. */
export const CallAgentKey = defineSearchAttributeKey('CallAgent', SearchAttributeType.KEYWORD);

/** Name and type of every attribute, for registering them on a server (`--search-attribute Name=Type`). */
export const CALL_SEARCH_ATTRIBUTES: ReadonlyArray<{ name: string; type: 'Keyword' | 'Int' }> = [
  CallProviderKey,
  CallStatusKey,
  CallDirectionKey,
  CallFlowKey,
  CallQueueKey,
  CallFromKey,
  CallToKey,
  CallOutcomeKey,
  CallTalkSecondsKey,
  CallAnswerSecondsKey,
  CallAgentKey,
].map((key) => ({ name: key.name, type: key.type === SearchAttributeType.INT ? 'Int' : 'Keyword' }));
