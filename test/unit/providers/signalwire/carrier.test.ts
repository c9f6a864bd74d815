import { randomBytes } from 'node:crypto';
import { commandKey, type CallCommand } from '../../../../src/calls';
import { CarrierError } from '../../../../src/providers/errors';
import {
  callbackOwner,
  createSignalWireCommands,
  documentUrl,
  signalwireAuthorization,
  signalwireCommandRequest,
} from '../../../../src/providers/signalwire';
import { callRequestErrors as requestErrors, schemaErrors } from './spec';

const callRequestErrors = (body: unknown) => requestErrors(body as { command: string });

const callId = '3fa85f64-5717-4562-b3fc-2c963f66afa6';
const workflowId = `call:signalwire:${callId}`;
const signingKey = randomBytes(24).toString('base64url');
const commands = createSignalWireCommands({
  apiBaseUrl: 'https://example.signalwire.com',
  projectId: 'project-1',
  apiToken: 'PT-token',
  signingKey,
  publicBaseUrl: 'https://gw.example.com',
});

const command = (body: Record<string, unknown>, sequence = 9): CallCommand =>
  ({ ...body, callId, commandKey: commandKey(workflowId, sequence), ownerWorkflowId: workflowId }) as CallCommand;

describe('SignalWire commands for the worker', () => {
  it('authenticates with Basic auth and never retries a dial', () => {
    expect(commands.authorization).toBe(signalwireAuthorization('project-1', 'PT-token'));
    expect(commands.dialIsIdempotent).toBe(false);
    expect(commands.classify?.({ operation: 'dial', status: 422, headers: {}, body: {} })?.type).toBe(
      'CarrierRejected',
    );
    expect(commands.classify?.({ operation: 'calling.end', status: 404, headers: {}, body: {} })?.type).toBe(
      'CallGone',
    );
  });

  it('signs callback URLs with the signing key: they route back to the session that sent the command', () => {
    const request = commands.commandRequest(command({ op: 'forkStart', rx: 'wss://tap.example.com/a' }));
    const body = request.body as { params: { status_url: string } };
    expect(callRequestErrors(body)).toBe('');
    expect(callbackOwner(body.params.status_url, signingKey)).toEqual({ ok: true, workflowId });
  });

  it('stops the operation the session names as the target', () => {
    const target = commandKey(workflowId, 4);
    const stop = commands.commandRequest(command({ op: 'recordStop', target }));
    expect(callRequestErrors(stop.body)).toBe('');
    expect(stop.body).toEqual({ command: 'calling.record.stop', id: callId, params: { control_id: target } });
    expect(() => commands.commandRequest(command({ op: 'stopPlayback' }))).toThrow(CarrierError);
  });

  it('redirects to the session document URL, unique per redirect', () => {
    const first = commands.commandRequest(command({ op: 'redirect' }, 5)).body as { params: { url: string } };
    const second = commands.commandRequest(command({ op: 'redirect' }, 6)).body as { params: { url: string } };
    expect(callRequestErrors(first)).toBe('');
    expect(first.params.url).not.toBe(second.params.url);
    expect(first.params.url.startsWith(documentUrl('https://gw.example.com', signingKey, workflowId))).toBe(true);
    expect(callbackOwner(first.params.url, signingKey)).toEqual({ ok: true, workflowId });
    // The adapter function alone builds the same request.
    expect(signalwireCommandRequest(command({ op: 'redirect' }, 5), { callbacks: commands.callbacks }).body).toEqual(
      first,
    );
  });

  it('dials a fax call with an inline document that sends the fax and hangs up; its callbacks reach the fax workflow', () => {
    const request = commands.placeFaxCallRequest({
      to: '+15550009000',
      from: '+15550001000',
      documentUrl: 'https://files.example.com/invoice.pdf',
      headerInfo: 'Invoice 12',
      identity: '+15550001000',
      ownerWorkflowId: 'fax:abc',
    });
    const body = request.body as {
      command: string;
      params: { swml: { sections: { main: Record<string, unknown>[] } }; status_url: string };
    };
    expect(callRequestErrors(body)).toBe('');
    expect(body.command).toBe('dial');
    expect(schemaErrors('SWML.Calling.SWMLObject', body.params.swml)).toBe('');
    const [sendFax, hangup] = body.params.swml.sections.main;
    expect(sendFax).toEqual({
      send_fax: {
        document: 'https://files.example.com/invoice.pdf',
        header_info: 'Invoice 12',
        identity: '+15550001000',
        status_url: body.params.status_url,
      },
    });
    expect(hangup).toEqual({ hangup: { reason: 'hangup' } });
    expect(callbackOwner(body.params.status_url, signingKey)).toEqual({ ok: true, workflowId: 'fax:abc' });
  });

  it('stops a fax by the control id its callbacks carried', () => {
    const stop = commands.stopFaxRequest(callId, 'sw-control-1', 'send');
    expect(callRequestErrors(stop.body)).toBe('');
    expect(stop.body).toEqual({ command: 'calling.send_fax.stop', id: callId, params: { control_id: 'sw-control-1' } });
    expect((commands.stopFaxRequest(callId, 'c', 'receive').body as { command: string }).command).toBe(
      'calling.receive_fax.stop',
    );
  });
});
