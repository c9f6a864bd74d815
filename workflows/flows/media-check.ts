import { Unsupported } from '../../src/calls';
import type { MachineDetection } from '../session';
import type { Flow } from './types';

/**
 * Detection and media on any carrier (issue 10 item 4): who answered (mid-call detection, or on Telnyx, which
 * detects only when it places a call, a dial with detection to `args.agentNumber`), the call's audio streamed
 * to `args.streamUrl` while a prompt plays, then SignalWire's extras (a user event, noise reduction) where the
 * carrier has them. Returns one line saying what happened.
 */
export const mediaCheck: Flow = async (call, { args }) => {
  await call.answer();
  let machine: MachineDetection | undefined;
  try {
    machine = await call.detectMachine({ timeoutSeconds: 10 });
  } catch (err) {
    if (!(err instanceof Unsupported)) throw err;
    const dialed = await call.dial({ to: String(args.agentNumber), detectMachine: true, timeoutSeconds: 20 });
    machine = dialed.machine;
    if (dialed.answered) await call.hangupLeg(dialed.callId);
  }
  const stream = await call.startStream({ url: String(args.streamUrl), track: 'both' });
  await call.say('This call is being streamed.');
  await call.stopStream();
  let extras = 'sent';
  try {
    await call.userEvent({ flow: 'mediaCheck' });
    await call.denoise(true);
    await call.denoise(false);
  } catch (err) {
    if (!(err instanceof Unsupported)) throw err;
    extras = 'unsupported';
  }
  await call.hangup();
  const heard = machine ? `${machine.result}${machine.beep ? '+beep' : ''}` : 'none';
  return `machine=${heard} stream=${stream.started ? 'started' : `failed (${stream.failure})`} extras=${extras}`;
};
