/**
 * The status callbacks the spec does not model, as closed JSON Schemas of what the docs describe: the
 * SWML method pages (`play`, `prompt`, `record`, `detect_machine`, `connect`, `send_fax`, `receive_fax`,
 * `tap`, `sip_refer`) and the REST command prose, consolidated in research/signalwire.md §3-§6. The
 * simulator checks every callback it sends against these, so a field the docs never mention is a bug.
 */

type Schema = Record<string, unknown>;

const string = { type: 'string' };
const number = { type: 'number' };
const boolean = { type: 'boolean' };
const closed = (properties: Record<string, Schema>, required: string[]): Schema => ({
  type: 'object',
  properties,
  required,
  additionalProperties: false,
});
const oneOf = (...values: string[]) => ({ type: 'string', enum: values });

/** `end_reason` and `failed_reason` values across the connect docs, RELAY and `calling.end`. */
const END_REASONS = oneOf(
  'hangup',
  'cancel',
  'busy',
  'noAnswer',
  'decline',
  'error',
  'abandoned',
  'maxDuration',
  'notFound',
);

const device = {
  anyOf: [
    closed(
      {
        type: { const: 'phone' },
        params: closed({ from_number: string, to_number: string }, ['from_number', 'to_number']),
      },
      ['type', 'params'],
    ),
    closed({ type: oneOf('sip', 'webrtc'), params: closed({ from: string, to: string }, ['from', 'to']) }, [
      'type',
      'params',
    ]),
  ],
};

/** Fields every call event's `params` may carry. */
const leg = { call_id: string, node_id: string, segment_id: string, tag: string };
const operation = { ...leg, control_id: string };

function envelope(eventType: string, params: Schema): Schema {
  return closed(
    {
      event_type: { const: eventType },
      event_channel: string,
      timestamp: number,
      project_id: string,
      space_id: string,
      params,
    },
    ['event_type', 'event_channel', 'timestamp', 'project_id', 'space_id', 'params'],
  );
}

const faxPage = closed({ direction: oneOf('send', 'receive'), number }, ['direction', 'number']);
const faxFinished = closed(
  {
    direction: oneOf('send', 'receive'),
    identity: string,
    remote_identity: string,
    document: string,
    pages: number,
    success: boolean,
    result: number,
    result_text: string,
    format: { const: 'pdf' },
  },
  ['direction', 'identity', 'remote_identity', 'document', 'pages', 'success', 'result', 'result_text', 'format'],
);

export const DOCUMENTED_CALLBACK_SCHEMAS: Record<string, Schema> = {
  'calling.call.state': envelope(
    'calling.call.state',
    closed(
      {
        ...leg,
        call_state: oneOf('created', 'ringing', 'answered', 'ending', 'ended'),
        direction: oneOf('inbound', 'outbound'),
        device,
        parent: closed({ device_type: oneOf('phone', 'sip', 'webrtc'), node_id: string, call_id: string }, [
          'device_type',
          'node_id',
          'call_id',
        ]),
        peer: closed({ call_id: string, node_id: string }, ['call_id', 'node_id']),
        created_by: oneOf('dial', 'connect', 'receive'),
        start_time: number,
        answer_time: number,
        end_time: number,
        end_reason: END_REASONS,
      },
      ['call_id', 'node_id', 'call_state', 'direction', 'device'],
    ),
  ),
  'calling.call.play': envelope(
    'calling.call.play',
    closed({ ...operation, state: oneOf('playing', 'paused', 'finished', 'error') }, [
      'call_id',
      'node_id',
      'control_id',
      'state',
    ]),
  ),
  'calling.call.collect': envelope(
    'calling.call.collect',
    closed(
      {
        ...operation,
        result: closed(
          {
            type: oneOf('digit', 'speech', 'no_input', 'no_match', 'start_of_input', 'finished', 'error'),
            params: closed({ digits: string, terminator: string, text: string, confidence: number }, []),
          },
          ['type'],
        ),
        final: boolean,
        state: oneOf('collecting', 'finished', 'error'),
      },
      ['call_id', 'node_id', 'control_id', 'result'],
    ),
  ),
  'calling.call.record': envelope(
    'calling.call.record',
    closed(
      {
        ...operation,
        state: oneOf('recording', 'paused', 'finished', 'no_input', 'error'),
        url: string,
        duration: number,
        size: number,
        recording_id: string,
        start_time: number,
        end_time: number,
        pause_behavior: oneOf('silence', 'skip'),
        record: closed(
          {
            audio: closed(
              { format: oneOf('wav', 'mp3', 'mp4'), direction: oneOf('speak', 'listen', 'both'), stereo: boolean },
              [],
            ),
          },
          ['audio'],
        ),
      },
      ['call_id', 'node_id', 'control_id', 'state'],
    ),
  ),
  'calling.call.detect': envelope(
    'calling.call.detect',
    closed(
      {
        ...operation,
        detect: closed(
          { type: oneOf('machine', 'fax', 'digit'), params: closed({ event: string, beep: boolean }, ['event']) },
          ['type', 'params'],
        ),
      },
      ['call_id', 'node_id', 'control_id', 'detect'],
    ),
  ),
  'calling.call.tap': envelope(
    'calling.call.tap',
    closed(
      {
        ...operation,
        state: oneOf('tapping', 'finished'),
        tap: closed(
          { type: { const: 'audio' }, params: closed({ direction: oneOf('listen', 'speak', 'both') }, ['direction']) },
          ['type', 'params'],
        ),
        device: {
          anyOf: [
            closed(
              {
                type: { const: 'rtp' },
                params: closed({ addr: string, port: number, codec: string, ptime: number }, ['addr', 'port']),
              },
              ['type', 'params'],
            ),
            closed({ type: { const: 'ws' }, params: closed({ uri: string, codec: string }, ['uri']) }, [
              'type',
              'params',
            ]),
          ],
        },
      },
      ['call_id', 'node_id', 'control_id', 'state', 'tap', 'device'],
    ),
  ),
  'calling.call.connect': envelope(
    'calling.call.connect',
    closed(
      {
        ...leg,
        connect_state: oneOf('connecting', 'connected', 'failed', 'disconnected'),
        failed_reason: END_REASONS,
        peer: closed({ call_id: string, node_id: string, tag: string, queue_id: string, queue_name: string, device }, [
          'call_id',
          'node_id',
        ]),
      },
      ['call_id', 'node_id', 'connect_state'],
    ),
  ),
  'calling.call.fax': envelope(
    'calling.call.fax',
    closed(
      {
        ...operation,
        fax: {
          anyOf: [
            closed({ type: { const: 'page' }, params: faxPage }, ['type', 'params']),
            closed({ type: { const: 'finished' }, params: faxFinished }, ['type', 'params']),
          ],
        },
      },
      ['call_id', 'node_id', 'control_id', 'fax'],
    ),
  ),
  'calling.call.refer': envelope(
    'calling.call.refer',
    closed(
      {
        ...leg,
        sip_refer_to: string,
        state: string,
        sip_refer_response_code: string,
        sip_notify_response_code: string,
      },
      ['call_id', 'node_id', 'sip_refer_to', 'state'],
    ),
  ),
};
