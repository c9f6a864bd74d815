import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Search attributes of call sessions, so the Temporal UI can filter "answered calls in queue sales on
 * telnyx". They are stored unencrypted: `CallFrom`/`CallTo` hold phone numbers.
 */
export const CallProviderKey = defineSearchAttributeKey('CallProvider', SearchAttributeType.KEYWORD);
export const CallStatusKey = defineSearchAttributeKey('CallStatus', SearchAttributeType.KEYWORD);
export const CallDirectionKey = defineSearchAttributeKey('CallDirection', SearchAttributeType.KEYWORD);
export const CallFlowKey = defineSearchAttributeKey('CallFlow', SearchAttributeType.KEYWORD);
export const CallQueueKey = defineSearchAttributeKey('CallQueue', SearchAttributeType.KEYWORD);
export const CallFromKey = defineSearchAttributeKey('CallFrom', SearchAttributeType.KEYWORD);
export const CallToKey = defineSearchAttributeKey('CallTo', SearchAttributeType.KEYWORD);

/** Name and type of every attribute, for registering them on a server (`--search-attribute Name=Type`). */
export const CALL_SEARCH_ATTRIBUTES: ReadonlyArray<{ name: string; type: 'Keyword' }> = [
  CallProviderKey,
  CallStatusKey,
  CallDirectionKey,
  CallFlowKey,
  CallQueueKey,
  CallFromKey,
  CallToKey,
].map((key) => ({ name: key.name, type: 'Keyword' as const }));
