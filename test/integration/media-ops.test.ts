import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PROVIDERS, type CallOutcome, type Provider } from '../../src/calls';
import { replayCompletedSessions, startTestStack, type TestStack } from '../support/stack';

/**
 * Detection and media (issue 10 item 4) on all three simulated carriers at once: the `mediaCheck` flow learns
 * who answered (SignalWire `calling.detect` and jambonz `config` amd mid-call; Telnyx, which detects only when
 * it places a call, through a dial with detection), streams the call's audio to a WebSocket while a prompt
 * plays, and sends SignalWire's extras (a user event, noise reduction on and off), which the other carriers
 * refuse as Unsupported. Every request the simulators received is valid by the carrier's spec.
 */

const MEDIA_NUMBER = '+15550001300';
const STREAM_URL = 'wss://127.0.0.1:9/media';

describe('detection and media operations', () => {
  let stack: TestStack;
  beforeAll(async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'media-ops-'));
    const routes = path.join(dir, 'routes.json');
    writeFileSync(
      routes,
      JSON.stringify({
        default: { flow: 'defaultIvr' },
        numbers: {
          [MEDIA_NUMBER]: { flow: 'mediaCheck', args: { agentNumber: '+15550002000', streamUrl: STREAM_URL } },
        },
      }),
    );
    stack = await startTestStack({ simulate: [...PROVIDERS], timeScale: 0.2, env: { ROUTING_TABLE_PATH: routes } });
  });
  afterAll(async () => {
    await stack?.close();
  });
  afterEach(() => {
    if (expect.getState().assertionCalls !== expect.getState().numPassingAsserts) console.log(stack.output.join('\n'));
  });

  const script = { from: '+15557770000', to: MEDIA_NUMBER, presses: [] };

  async function runCall(provider: Provider): Promise<CallOutcome> {
    switch (provider) {
      case 'telnyx': {
        const { callControlId, workflowId } = await stack.telnyx.placeCall(script);
        const outcome = await stack.outcome(workflowId);
        await stack.telnyx.waitForEnd(callControlId);
        return outcome;
      }
      case 'signalwire': {
        const { callId, workflowId } = await stack.signalwire.placeCall(script);
        const outcome = await stack.outcome(workflowId);
        await stack.signalwire.waitForEnd(callId);
        return outcome;
      }
      case 'jambonz': {
        const { callSid, workflowId } = await stack.jambonz.placeCall(script);
        const outcome = await stack.outcome(workflowId);
        await stack.jambonz.waitForEnd(callSid);
        return outcome;
      }
    }
  }

  it('detects who answered, streams, and sends the extras where the carrier has them', async () => {
    const [telnyx, signalwire, jambonz] = await Promise.all(PROVIDERS.map(runCall));
    expect(PROVIDERS).toEqual(['telnyx', 'signalwire', 'jambonz']);
    expect(telnyx.flowResult).toBe('machine=human stream=started extras=unsupported');
    expect(signalwire.flowResult).toBe('machine=human stream=started extras=sent');
    expect(jambonz.flowResult).toBe('machine=human stream=started extras=unsupported');

    // Telnyx: a dial with answering-machine detection, then streaming_start / streaming_stop.
    const telnyxCommands = await stack.telnyx.commands();
    expect(telnyxCommands.find((c) => c.action === 'dial')?.body).toMatchObject({
      answering_machine_detection: 'detect',
    });
    expect(telnyxCommands.find((c) => c.action === 'streaming_start')?.body).toMatchObject({
      stream_url: STREAM_URL,
      stream_track: 'both_tracks',
    });
    expect(telnyxCommands.map((c) => c.action)).toContain('streaming_stop');
    expect(telnyxCommands.filter((c) => c.status >= 400)).toEqual([]);
    const telnyxEvents = (await stack.telnyx.webhooks()).map((w) => w.eventType);
    expect(telnyxEvents).toEqual(
      expect.arrayContaining(['call.machine.detection.ended', 'streaming.started', 'streaming.stopped']),
    );

    // SignalWire: calling.detect, calling.stream and its stop, the user event and denoise, all accepted.
    const swCommands = await stack.signalwire.commands();
    const sent = swCommands.map((c) => c.command);
    for (const command of [
      'calling.detect',
      'calling.stream',
      'calling.stream.stop',
      'calling.user_event',
      'calling.denoise',
      'calling.denoise.stop',
    ])
      expect(sent).toContain(command);
    expect(swCommands.filter((c) => c.status >= 400)).toEqual([]);

    // jambonz: config amd and config listen in the documents, the amd verdict on the operation's hook.
    const hooks = await stack.jambonz.webhooks();
    expect(hooks.filter((h) => h.invalidVerbs)).toEqual([]);
    const answered = hooks.map((h) => h.response ?? '').join('\n');
    expect(answered).toContain('"amd":{"actionHook"');
    expect(answered).toContain(`"listen":{"enable":true,"url":"${STREAM_URL}","mixType":"stereo"}`);
    expect(answered).toContain('"listen":{"enable":false}');
    expect(hooks.some((h) => /[?&]hook=amd\b/.test(h.url) && h.body.includes('amd_human_detected'))).toBe(true);

    // The new operations replay deterministically.
    expect(await replayCompletedSessions(stack.client, `CallFlow = 'mediaCheck'`)).toBe(3);
  }, 60_000);
});
