import { randomUUID } from 'node:crypto';
import Fastify from 'fastify';
import type { CallCommandBody, CallEvent } from '../src/calls';
import { loadConfig } from '../src/config';
import { createCarrierHttp } from '../src/providers/http';
import { createTelnyxAdapter, TELNYX_CALL_GONE_CODES } from '../src/providers/telnyx';
import { IVR_PROMPTS } from '../workflows/flows/default-ivr';

/**
 * Child process: what carrier sample apps do, with no durability. One fastify route verifies the
 * signature, parses the event and sends the next command straight to the carrier (the project's own
 * Telnyx adapter and HTTP pool), then answers 200. The call flow is a lookup on the event kind; if this
 * process dies, every call in flight is lost. Env: PORT, TELNYX_API_KEY, TELNYX_PUBLIC_KEY,
 * TELNYX_API_BASE_URL.
 */

/** The default IVR's first steps (caller presses 2) as "event kind → next command". */
function nextCommand(event: CallEvent): CallCommandBody | undefined {
  switch (event.kind) {
    case 'call.incoming':
      return { op: 'answer' };
    case 'call.answered':
      return {
        op: 'gather',
        prompt: { say: `${IVR_PROMPTS.greeting} ${IVR_PROMPTS.menu}` },
        maxDigits: 1,
        validDigits: '12',
        timeoutMs: 5000,
      };
    case 'gather.ended':
      return { op: 'say', text: IVR_PROMPTS.voicemail };
    case 'speak.ended':
      return { op: 'recordStart', beep: true, maxSeconds: 120, silenceSeconds: 5 };
    default:
      return undefined;
  }
}

async function main(): Promise<void> {
  const { telnyx: settings, gateway } = loadConfig(process.env);
  // What the worker's carrier client is made of: the Telnyx adapter and one keep-alive HTTP pool.
  const adapter = createTelnyxAdapter(settings);
  const http = createCarrierHttp({
    provider: 'telnyx',
    baseUrl: settings.apiBaseUrl,
    headers: { authorization: `Bearer ${settings.apiKey}` },
    gone: { goneCodes: TELNYX_CALL_GONE_CODES },
  });
  const app = Fastify({ logger: false });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.post('/webhooks/telnyx', async (request, reply) => {
    const rawBody = request.body as Buffer;
    const headers = request.headers as Record<string, string | undefined>;
    const verified = adapter.verify({ url: request.url, headers, rawBody });
    if (!verified.ok) return reply.code(401).send({ error: verified.reason });
    for (const event of adapter.normalise(rawBody).events) {
      const command = nextCommand(event);
      if (!command) continue;
      const request = adapter.commandRequest({
        ...command,
        callId: event.callId,
        commandKey: randomUUID(),
        ownerWorkflowId: 'stateless',
      });
      await http.send(request);
    }
    return reply.code(200).send({ status: 'ok' });
  });

  const url = await app.listen({ port: gateway.port, host: '127.0.0.1' });
  console.log(JSON.stringify({ event: 'stateless-ready', url, pid: process.pid }));
  const close = () =>
    void app
      .close()
      .then(() => http.close())
      .then(() => process.exit(0));
  process.once('SIGTERM', close);
  process.once('SIGINT', close);
}

main().catch((err) => {
  console.error('stateless app failed:', err);
  process.exit(1);
});
