import { request } from 'undici';

/**
 * The CLI's only way to the service: the gateway's REST API over HTTP. Errors come back as RFC 9457 problem
 * details (src/gateway/problem.ts), which `ApiError` carries so the CLI can print their title and detail.
 */

export interface ApiOptions {
  url: string;
  apiKey?: string;
}

export interface Problem {
  title?: string;
  detail?: string;
  code?: string;
  status?: number;
}

/** The API answered with an error status. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem,
  ) {
    super([problem.title ?? `HTTP ${status}`, problem.detail].filter(Boolean).join(': '));
  }
}

export interface Api {
  get<T>(path: string, query?: Record<string, string | number | undefined>): Promise<T>;
  post<T>(path: string, body?: unknown): Promise<T>;
}

export function createApi(options: ApiOptions): Api {
  const base = options.url.replace(/\/+$/, '');
  const headers: Record<string, string> = options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {};

  async function send<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    let res;
    try {
      res = await request(`${base}${path}`, {
        method,
        headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw new Error(`cannot reach the gateway at ${base}: ${(err as Error).message}`);
    }
    const text = await res.body.text();
    const json = parseJson(text);
    if (res.statusCode >= 400) {
      throw new ApiError(
        res.statusCode,
        typeof json === 'object' && json !== null ? (json as Problem) : { detail: text },
      );
    }
    return json as T;
  }

  return {
    get(path, query = {}) {
      const params = new URLSearchParams();
      for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, String(value));
      const search = params.size > 0 ? `?${params}` : '';
      return send('GET', `${path}${search}`);
    },
    post: (path, body) => send('POST', path, body),
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A path segment: workflow ids hold `:` and may hold anything a requestId allows. */
export const segment = (value: string) => encodeURIComponent(value);
