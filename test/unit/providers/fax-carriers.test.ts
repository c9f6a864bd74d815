import { ErrorType } from '../../../src/calls';
import { CARRIERS, carrierSupports, faxCapability, faxCarriers } from '../../../src/providers/carriers';
import { telnyxCommandRequest } from '../../../src/providers/telnyx';

/** Which carriers send faxes through `POST /faxes`, and how: read from the carrier table. */

const shared = { publicBaseUrl: 'https://calls.example.com', dataDir: '/tmp' };

describe('fax carriers', () => {
  it('SignalWire faxes by a call, Telnyx by its fax API, jambonz not at all', () => {
    expect(faxCapability('signalwire')).toEqual({ via: 'call', headerInfo: true, identity: true });
    expect(faxCapability('telnyx')).toEqual({ via: 'fax-api', headerInfo: false, identity: false });
    expect(faxCapability('jambonz')).toBeUndefined();
  });

  it('puts SignalWire first among the configured fax carriers (the default when POST /faxes names none)', () => {
    expect(faxCarriers(['telnyx', 'signalwire', 'jambonz'])).toEqual(['signalwire', 'telnyx']);
    expect(faxCarriers(['telnyx', 'jambonz'])).toEqual(['telnyx']);
    expect(faxCarriers(['jambonz'])).toEqual([]);
  });

  it('keeps a fax out of a Telnyx call: the flow operations fail with Unsupported, naming why', () => {
    expect(carrierSupports('telnyx', 'sendFax')).toBe(false);
    expect(carrierSupports('telnyx', 'receiveFax')).toBe(false);
    const command = { op: 'sendFax', documentUrl: 'https://example.com/a.pdf' } as const;
    expect(() =>
      telnyxCommandRequest(
        { ...command, callId: 'v3:a', commandKey: 'call:telnyx:v3:a#1', ownerWorkflowId: 'call:telnyx:v3:a' },
        { connectionId: 'c', voice: 'v' },
      ),
    ).toThrow(expect.objectContaining({ type: ErrorType.Unsupported, message: expect.stringMatching(/POST \/faxes/) }));
  });

  it('sends Telnyx faxes with TELNYX_FAX_CONNECTION_ID, else the Call Control connection', () => {
    const read = (env: Record<string, string>) => CARRIERS.telnyx.readSettings(env, shared).faxConnectionId;
    expect(read({ TELNYX_CONNECTION_ID: 'cc-1', TELNYX_FAX_CONNECTION_ID: 'fax-1' })).toBe('fax-1');
    expect(read({ TELNYX_CONNECTION_ID: 'cc-1' })).toBe('cc-1');
  });
});
