import { isCallEnded } from '../../src/calls';
import type { Flow } from './types';

/**
 * The default IVR: a greeting and a menu. 1 dials an agent and bridges the caller; 2 records a voicemail
 * after a beep; no or wrong input repeats the menu, at most three times, then goodbye.
 */

export const IVR_PROMPTS = {
  greeting: 'Thank you for calling durable calls.',
  menu: 'Press 1 to speak to an agent. Press 2 to leave a message.',
  retry: 'Sorry, I did not get that.',
  connecting: 'Connecting you to an agent.',
  agentUnavailable: 'All our agents are busy. Please leave a message after the beep.',
  voicemail: 'Please leave a message after the beep. Hang up when you are done.',
  thanks: 'Thank you for your message. Goodbye.',
  goodbye: 'Goodbye.',
} as const;

const MAX_TRIES = 3;

export const defaultIvr: Flow = async (call, { args, resume }) => {
  if (!resume) await call.answer();
  if (resume?.step === 'bridged') {
    await call.waitForHangup('bridged');
    await call.hangup();
    return 'talked to an agent';
  }

  let tries = typeof resume?.data?.tries === 'number' ? resume.data.tries : 0;
  while (tries < MAX_TRIES) {
    await call.checkpoint('menu', { tries });
    const prompt =
      tries === 0 ? `${IVR_PROMPTS.greeting} ${IVR_PROMPTS.menu}` : `${IVR_PROMPTS.retry} ${IVR_PROMPTS.menu}`;
    const choice = await call.gather({ prompt: { say: prompt }, maxDigits: 1, validDigits: '12', timeoutMs: 5000 });
    tries++;

    if (choice.digits === '1') {
      const agentNumber = String(args.agentNumber ?? '');
      if (agentNumber) {
        await call.say(IVR_PROMPTS.connecting);
        const agent = await call.dial({ to: agentNumber, timeoutSeconds: 30 });
        if (agent.answered) {
          await call.bridge(agent.callId);
          await call.waitForHangup('bridged');
          await call.hangup();
          return `pressed 1, bridged to agent ${agentNumber}`;
        }
      }
      return leaveVoicemail(call, IVR_PROMPTS.agentUnavailable, 'pressed 1, no agent answered');
    }
    if (choice.digits === '2') return leaveVoicemail(call, IVR_PROMPTS.voicemail, 'pressed 2');
  }

  await call.say(IVR_PROMPTS.goodbye);
  await call.hangup();
  return `no valid choice after ${MAX_TRIES} tries`;
};

async function leaveVoicemail(call: Parameters<Flow>[0], prompt: string, why: string): Promise<string> {
  await call.say(prompt);
  // A caller usually ends a voicemail by hanging up: `record` still resolves with the saved recording.
  const recording = await call.record({ beep: true, maxSeconds: 120, silenceSeconds: 5 });
  try {
    if (!call.ended) {
      await call.say(IVR_PROMPTS.thanks);
      await call.hangup();
    }
  } catch (err) {
    // The message is in; a caller hanging up during the thank-you changes nothing.
    if (!isCallEnded(err)) throw err;
  }
  return recording.saved ? `${why}, voicemail saved at ${recording.url ?? '(no url)'}` : `${why}, no voicemail`;
}
