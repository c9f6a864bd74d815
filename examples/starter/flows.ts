import { isCallEnded, type Flow } from 'durable-calls/flow';

/**
 * This app's flows: every function this module exports is a flow, named by its export name. They run inside
 * Temporal's workflow sandbox (deterministic, no I/O): import from `durable-calls/flow` only.
 */

export const HOURS = 'We are open Monday to Friday, nine to five.';
export const ADDRESS = 'You find us at 1 Main Street.';

/** A bakery's phone line: 1 for the opening hours, 2 for the address, at most two tries. */
export const bakeryLine: Flow = async (call, { args }) => {
  await call.answer();
  try {
    for (let tries = 0; tries < 2; tries++) {
      const choice = await call.gather({
        prompt: { say: `Welcome to ${String(args.shop ?? 'the bakery')}. Press 1 for our hours, 2 for our address.` },
        maxDigits: 1,
        validDigits: '12',
        timeoutMs: 5000,
      });
      if (choice.digits === '1' || choice.digits === '2') {
        await call.say(choice.digits === '1' ? HOURS : ADDRESS);
        await call.hangup();
        return choice.digits === '1' ? 'told the hours' : 'told the address';
      }
    }
    await call.say('Goodbye.');
    await call.hangup();
    return 'no choice';
  } catch (err) {
    // A caller may hang up at any point; the session records that as how the call ended.
    if (isCallEnded(err)) return 'caller hung up';
    throw err;
  }
};
