import type { Flow } from './types';

/**
 * The outbound flow: once the callee answers, deliver a message and ask for a confirmation
 * (1 confirms, 2 repeats; at most three tries). `args.message` overrides the message.
 */
export const outboundNotice: Flow = async (call, { args, resume }) => {
  const message = String(args.message ?? 'This is a reminder from durable calls about your appointment tomorrow.');
  const firstTry = typeof resume?.data?.tries === 'number' ? resume.data.tries : 0;
  for (let tries = firstTry; tries < 3; tries++) {
    await call.checkpoint('notice', { tries });
    const reply = await call.gather({
      prompt: { say: `${message} Press 1 to confirm, or 2 to hear this again.` },
      maxDigits: 1,
      validDigits: '12',
      timeoutMs: 5000,
    });
    if (reply.digits === '1') {
      await call.say('Thank you, your appointment is confirmed. Goodbye.');
      await call.hangup();
      return 'confirmed';
    }
  }
  await call.say('We will call you again later. Goodbye.');
  await call.hangup();
  return 'not confirmed';
};
