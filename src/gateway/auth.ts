import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ApiKey, ApiScope } from '../config';
import { sendProblem } from './problem';

/**
 * API keys for the REST API (`/calls`, `/faxes`, `/recordings/`): anyone who reaches it could otherwise place
 * calls and read callers' numbers, digits and voices. `/metrics` too (scope `metrics`): the gateway faces the
 * internet for webhooks, and traffic and failure figures are nobody else's business; Prometheus sends a bearer
 * key natively, and without keys a scraper on loopback (or a sidecar) still reaches it. Webhook routes are not covered (each carrier's plugin
 * checks its signature) nor are `/healthz` and `/readyz` (balancers probe them without credentials).
 *
 * With no key configured the REST API answers loopback clients only, so `npm start` on a laptop works as
 * before while a gateway listening on 0.0.0.0 refuses the world.
 */

export interface RestAuthOptions {
  keys: readonly ApiKey[];
}

/** Path prefixes of the REST API (and the wallboard, which shows what it reads). */
const REST_PREFIXES = ['/calls', '/faxes', '/recordings/', '/queues', '/wallboard'];

/** The wallboard's page and its event stream: a browser's EventSource cannot send headers, so `?key=` works there too. */
const isWallboard = (path: string) => path === '/wallboard' || path.startsWith('/wallboard/');

/** Which routes need a key, and the scope each method needs: reading is `read`, anything else (placing, cancelling, changing a queue's agents) `calls`. */
export function requiredScope(method: string, url: string): ApiScope | undefined {
  const path = url.split('?', 1)[0];
  if (path === '/metrics') return 'metrics';
  const rest = REST_PREFIXES.some((p) => path === p || path.startsWith(p.endsWith('/') ? p : `${p}/`));
  if (!rest) return undefined;
  return method === 'GET' || method === 'HEAD' ? 'read' : 'calls';
}

export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return v4.startsWith('127.') || address === '::1';
}

/** Hashing first gives both sides the same length, which `timingSafeEqual` needs, without leaking the key's. */
const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

function presentedKey(request: FastifyRequest): string | undefined {
  const authorization = request.headers.authorization;
  if (typeof authorization === 'string') {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (match) return match[1];
  }
  const header = request.headers['x-api-key'];
  if (typeof header === 'string' && header !== '') return header;
  // By the matched route, so no other path takes a key in its URL.
  const query = request.query as { key?: unknown } | undefined;
  if (isWallboard(request.routeOptions.url ?? '') && typeof query?.key === 'string' && query.key !== '')
    return query.key;
  return undefined;
}

const refuse = (reply: FastifyReply, status: 401 | 403, detail: string, extensions: Record<string, unknown> = {}) => {
  if (status === 401) reply.header('www-authenticate', 'Bearer');
  return sendProblem(reply, status, status === 401 ? 'unauthorized' : 'forbidden', detail, extensions);
};

/** The plugin: one onRequest hook on the root instance (not encapsulated), so it sees every route. */
export async function restAuth(app: FastifyInstance, options: RestAuthOptions): Promise<void> {
  const keys = options.keys.map((k) => ({ hash: digest(k.key), scopes: new Set(k.scopes) }));
  if (keys.length === 0) {
    app.log.warn(
      'API_KEYS is not set: the REST API (/calls, /faxes, /recordings) and /metrics answer loopback clients only; set API_KEYS to serve others',
    );
  }

  app.addHook('onRequest', async (request, reply) => {
    // The matched route's pattern and the raw path both count, so no spelling of a URL slips past either way.
    const route = request.routeOptions.url;
    const scope = (route && requiredScope(request.method, route)) ?? requiredScope(request.method, request.url);
    if (!scope) return;
    if (keys.length === 0) {
      if (isLoopback(request.socket.remoteAddress)) return;
      return refuse(
        reply,
        401,
        'this gateway has no API keys configured (API_KEYS), so its REST API answers loopback clients only',
      );
    }
    const presented = presentedKey(request);
    if (presented === undefined) {
      return refuse(reply, 401, 'an API key is required: Authorization: Bearer <key> or X-API-Key');
    }
    const hash = digest(presented);
    let match: (typeof keys)[number] | undefined;
    // Every key is compared, so the time taken says nothing about which one (if any) matched.
    for (const key of keys) if (timingSafeEqual(hash, key.hash) && !match) match = key;
    if (!match) return refuse(reply, 401, 'the API key is not valid');
    if (!match.scopes.has(scope)) {
      return refuse(reply, 403, `this API key lacks the "${scope}" scope`, { requiredScope: scope });
    }
  });
}

// What fastify-plugin does: the hook lands on the instance that registers it, so it covers sibling plugins too.
(restAuth as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;
