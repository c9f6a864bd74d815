import { validateTelnyxRequest } from '../../../../src/simulator/telnyx/spec';
import type { CallCommand, CallCommandBody } from '../../../../src/calls';
import { ErrorType } from '../../../../src/calls';
import { CarrierError } from '../../../../src/providers/errors';
import {
  decodeClientState,
  telnyxCommandRequest,
  telnyxPlaceCallRequest,
  telnyxPlacedCall,
} from '../../../../src/providers/telnyx';

const options = { connectionId: '1684641123236054244', voice: 'AWS.Polly.Joanna-Neural' };
const owner = 'call:telnyx:v3:abc';

/** Every command the flow API can send to Telnyx (fax is not a Call Control command). */
const COMMANDS: CallCommandBody[] = [
  { op: 'answer' },
  { op: 'hangup' },
  { op: 'reject', reason: 'busy' },
  { op: 'reject', reason: 'rejected' },
  { op: 'play', url: 'https://example.com/hold.mp3', loop: 3 },
  { op: 'say', text: 'Hello there', language: 'en-US' },
  { op: 'stopPlayback' },
  { op: 'gather', maxDigits: 4, timeoutMs: 8000 },
  { op: 'gather', prompt: { say: 'Press 1 or 2' }, maxDigits: 1, validDigits: '12' },
  { op: 'gather', prompt: { play: 'https://example.com/menu.wav' }, minDigits: 1, maxDigits: 3, terminator: '*' },
  { op: 'stopGather' },
  { op: 'recordStart', beep: true, maxSeconds: 120, silenceSeconds: 5, format: 'wav', channels: 'dual' },
  { op: 'recordStop' },
  { op: 'recordPause' },
  { op: 'recordResume' },
  { op: 'bridge', otherCallId: 'v3:other' },
  { op: 'transfer', to: '+15550002000', from: '+15550001000', timeoutSeconds: 20 },
  { op: 'sendDtmf', digits: '1w2#' },
  { op: 'enqueue', queue: 'sales', maxWaitSeconds: 600 },
  { op: 'leaveQueue' },
  { op: 'forkStart', rx: 'udp:192.0.2.10:9000', tx: 'udp:192.0.2.10:9001' },
  { op: 'forkStop' },
  { op: 'clientStateUpdate' },
];

/** `/calls/v3:x/actions/answer` → the spec's path template. */
const template = (path: string) => path.replace(/^\/calls\/[^/]+\/actions\//, '/calls/{call_control_id}/actions/');

describe('Telnyx commands', () => {
  it.each(COMMANDS.map((c, i) => [`${c.op} #${i}`, c] as const))(
    '%s validates against the spec request schema',
    (_name, body) => {
      const command = { ...body, callId: 'v3:abc', commandKey: `${owner}#7`, ownerWorkflowId: owner } as CallCommand;
      const request = telnyxCommandRequest(command, options);
      expect(validateTelnyxRequest(template(request.path), request.method.toLowerCase(), request.body)).toEqual([]);
    },
  );

  it('tags every command with its command_id and a client_state naming the owning workflow', () => {
    for (const body of COMMANDS) {
      const command = { ...body, callId: 'v3:abc', commandKey: `${owner}#9`, ownerWorkflowId: owner } as CallCommand;
      const sent = telnyxCommandRequest(command, options).body as Record<string, unknown>;
      expect(decodeClientState(sent.client_state)).toMatchObject({ wf: owner });
      // client_state_update is the one action without command_id in the spec.
      if (body.op !== 'clientStateUpdate') expect(sent.command_id).toBe(`${owner}#9`);
    }
  });

  it('builds dial as POST /calls with the connection id, a command_id and a valid body', () => {
    const request = telnyxPlaceCallRequest(
      {
        to: '+15550002000',
        from: '+15550001000',
        timeoutSeconds: 25,
        detectMachine: true,
        commandKey: `${owner}#3`,
        ownerWorkflowId: owner,
      },
      options,
    );
    expect(request).toMatchObject({ method: 'POST', path: '/calls' });
    expect(request.body).toMatchObject({
      connection_id: options.connectionId,
      command_id: `${owner}#3`,
      timeout_secs: 25,
    });
    expect(validateTelnyxRequest('/calls', 'post', request.body)).toEqual([]);
    expect(telnyxPlacedCall({ data: { call_control_id: 'v3:new', is_alive: false } })).toEqual({ callId: 'v3:new' });
    expect(() => telnyxPlacedCall({ data: {} })).toThrow(/call_control_id/);
  });

  it('refuses fax operations as Unsupported', () => {
    for (const op of ['sendFax', 'receiveFax'] as const) {
      const body: CallCommandBody = op === 'sendFax' ? { op, documentUrl: 'https://example.com/a.pdf' } : { op };
      const command = { ...body, callId: 'v3:abc', commandKey: `${owner}#1`, ownerWorkflowId: owner } as CallCommand;
      let thrown: unknown;
      try {
        telnyxCommandRequest(command, options);
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(CarrierError);
      expect((thrown as CarrierError).type).toBe(ErrorType.Unsupported);
    }
  });
});
