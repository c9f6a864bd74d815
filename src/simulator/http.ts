import type { AddressInfo } from 'node:net';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/**
 * HTTP plumbing the three simulators share: a lenient JSON body parser, listening, the timeScale option and
 * the `/_sim/calls/:id/ended` long-poll. Everything a carrier's wire format decides stays in its own server.
 */

export type JsonObject = Record<string, unknown>;

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Replaces fastify's JSON parser (which refuses an empty body) with one that reads an empty body as `{}` or
 * as no body at all, and fails a malformed one with a 400 carrying `invalidMessage` (for the error handler).
 */
export function parseJsonBodies(
  app: FastifyInstance,
  opts: { emptyAs: 'object' | 'undefined'; invalidMessage: string },
): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, raw, done) => {
    const text = String(raw);
    if (text.trim() === '') return done(null, opts.emptyAs === 'object' ? {} : undefined);
    try {
      done(null, JSON.parse(text));
    } catch {
      done(Object.assign(new Error(opts.invalidMessage), { statusCode: 400 }), undefined);
    }
  });
}

/** The `timeScale` option, checked; 1 when absent. */
export function checkedTimeScale(timeScale = 1): number {
  if (!Number.isFinite(timeScale) || timeScale < 0)
    throw new Error(`timeScale must be a number >= 0, got ${timeScale}`);
  return timeScale;
}

/** URL host for a listen address: wildcard addresses are reached over loopback. */
export function urlHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

/** Listens and answers the server's origin, `http://host:port`. */
export async function listenOrigin(app: FastifyInstance, port: number | undefined, host: string): Promise<string> {
  await app.listen({ port: port ?? 0, host });
  return `http://${urlHost(host)}:${(app.server.address() as AddressInfo).port}`;
}

/**
 * `GET /calls/:id/ended?timeout_ms=`, a long-poll for separate-process tests: answers once the call ended and
 * its webhooks settled, or 408.
 */
export function registerCallEndedRoute(
  control: FastifyInstance,
  waitForCallEnd: (id: string, timeoutMs: number) => Promise<unknown>,
): void {
  control.get(
    '/calls/:id/ended',
    async (request: FastifyRequest<{ Params: { id: string }; Querystring: { timeout_ms?: string } }>, reply) => {
      const timeoutMs = Number(request.query.timeout_ms ?? 30_000);
      try {
        return await waitForCallEnd(request.params.id, Number.isFinite(timeoutMs) ? timeoutMs : 30_000);
      } catch (err) {
        return reply.code(408).send({ error: err instanceof Error ? err.message : String(err) });
      }
    },
  );
}

/** `PUT <path>` with `{url}`: sets where the simulator sends its webhooks; 400 unless an http(s) URL. */
export function registerUrlSetter(control: FastifyInstance, path: string, set: (url: string) => void): void {
  control.put(path, async (request, reply) => {
    const url = isJsonObject(request.body) ? request.body.url : undefined;
    if (typeof url !== 'string' || !/^https?:\/\//.test(url))
      return reply.code(400).send({ error: '`url` must be an http(s) URL' });
    set(url);
    return { url };
  });
}
