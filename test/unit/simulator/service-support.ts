import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { request } from 'undici';
import type { HttpMethod } from '../../../src/providers/types';

/**
 * HTTP plumbing the simulator tests' stand-ins for our service and for a carrier's API client share. What
 * each carrier's wire format decides (signatures, routing tokens, bodies) stays in its own support file.
 */

/**
 * A fastify app on a random loopback port that keeps JSON bodies as raw bytes (signatures cover the exact
 * bytes); `routes` registers its routes before it listens. Answers the app and its origin.
 */
export async function startRawJsonService(
  routes: (app: FastifyInstance) => void,
): Promise<{ app: FastifyInstance; url: string }> {
  const app = Fastify({ logger: false });
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
  routes(app);
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}` };
}

export interface JsonAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** Sends `body` as JSON (none when undefined) with `headers` added; answers status, headers and body text. */
export async function sendJson(
  url: string,
  method: HttpMethod,
  headers: Record<string, string>,
  body?: unknown,
): Promise<JsonAnswer> {
  const response = await request(url, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.statusCode, headers: response.headers, text: await response.body.text() };
}
