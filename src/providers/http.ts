import { Pool, errors as undiciErrors } from 'undici';
import type { Provider } from '../calls/ids';
import { classifyResponse, networkError, type ClassifyInput } from './errors';
import type { CarrierCommands, CarrierRequest } from './types';

/**
 * One keep-alive connection pool per carrier API, with timeouts and no retries: Temporal owns retries,
 * and an HTTP layer that loops underneath would multiply them.
 */

export interface CarrierHttpOptions {
  provider: Provider;
  /** API base URL, e.g. `https://api.telnyx.com/v2`; request paths are appended to its path. */
  baseUrl: string;
  /** Sent on every request (authorisation). */
  headers: Record<string, string>;
  /** Time to the response headers, and between body chunks; below the activities' 5 s start-to-close. @default 4000 */
  timeoutMs?: number;
  /** How this carrier says "this call no longer exists". */
  gone: Pick<ClassifyInput, 'goneCodes' | 'goneStatuses'>;
  /** A carrier-specific classification that replaces the generic one. */
  classify?: CarrierCommands['classify'];
  connections?: number;
}

export interface CarrierHttp {
  /** Sends one request; resolves with the parsed JSON body (or undefined), throws a classified `CarrierError`. */
  send(request: CarrierRequest, options?: { signal?: AbortSignal }): Promise<unknown>;
  close(): Promise<void>;
}

export function createCarrierHttp(options: CarrierHttpOptions): CarrierHttp {
  const base = new URL(options.baseUrl);
  const basePath = base.pathname.replace(/\/$/, '');
  const timeout = options.timeoutMs ?? 4000;
  const pool = new Pool(base.origin, {
    connections: options.connections ?? 64,
    keepAliveTimeout: 30_000,
    headersTimeout: timeout,
    bodyTimeout: timeout,
    connectTimeout: timeout,
  });
  return {
    async send(request, sendOptions) {
      let response;
      try {
        response = await pool.request({
          method: request.method,
          path: basePath + request.path,
          headers: {
            ...options.headers,
            accept: 'application/json',
            ...(request.body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          body: request.body === undefined ? undefined : JSON.stringify(request.body),
          signal: sendOptions?.signal,
        });
      } catch (err) {
        if (err instanceof undiciErrors.RequestAbortedError) throw err;
        throw networkError(options.provider, request.operation, err);
      }
      const text = await response.body.text();
      let body: unknown = undefined;
      if (text) {
        try {
          body = JSON.parse(text);
        } catch {
          body = text;
        }
      }
      const outcome = { operation: request.operation, status: response.statusCode, headers: response.headers, body };
      const failure = options.classify
        ? options.classify(outcome)
        : classifyResponse({ ...outcome, provider: options.provider, ...options.gone });
      if (failure) throw failure;
      return body;
    },
    close: () => pool.close(),
  };
}
