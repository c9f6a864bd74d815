import type { FastifyInstance, FastifyRequest } from 'fastify';
import { registerCallEndedRoute } from './http';
import { parseCallerScript, type CallerScript } from './scripts';

/**
 * The `/_sim/` control API every simulator has, and the end-of-call wait behind it. What differs per carrier
 * (the id field a placed call answers with, extra routes) stays in its server.
 */

export interface ControlTarget {
  /** Places a scripted caller; answers the JSON the route returns, e.g. `{call_sid}`. */
  placeCall(script: CallerScript): Record<string, string>;
  records(): unknown;
  record(id: string): unknown;
  waitForCallEnd(id: string, timeoutMs: number): Promise<unknown>;
  commands(): unknown;
  webhooks(): unknown;
}

/** POST/GET `/calls`, GET `/calls/:id`, `/calls/:id/ended`, `/commands`, `/webhooks`. */
export function registerControlRoutes(control: FastifyInstance, target: ControlTarget): void {
  control.post('/calls', async (request, reply) => {
    const script = parseCallerScript(request.body);
    if (typeof script === 'string') return reply.code(400).send({ error: script });
    return target.placeCall(script);
  });
  control.get('/calls', async () => target.records());
  control.get('/calls/:id', async (request: FastifyRequest<{ Params: { id: string } }>, reply) => {
    const record = target.record(request.params.id);
    return record ?? reply.code(404).send({ error: `no call ${request.params.id}` });
  });
  registerCallEndedRoute(control, (id, timeoutMs) => target.waitForCallEnd(id, timeoutMs));
  control.get('/commands', async () => target.commands());
  control.get('/webhooks', async () => target.webhooks());
}

/**
 * Resolves once `finished` does (the call ended and its webhooks settled); rejects after `timeoutMs` real
 * milliseconds with where the call stands, as `describe()` tells it.
 */
export async function untilCallFinished(
  id: string,
  timeoutMs: number,
  finished: () => Promise<unknown>,
  describe: () => string,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`call ${id} did not finish within ${timeoutMs} ms (${describe()})`)),
      timeoutMs,
    );
  });
  try {
    await Promise.race([finished(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
