import { createHmac, randomUUID } from 'node:crypto';
import { Agent, request } from 'undici';
import { DeliveryFaults } from '../delivery-faults';
import type { JambonzHookDelivery, JambonzHookType } from './types';

/**
 * How the feature server calls an application's hooks (its http-requestor): JSON POST (or a bare GET),
 * signed with `Jambonz-Signature`, optional basic auth, a timeout, no retries unless the URL asks for them
 * with a `#rc=<count>&rp=<ct,rt,4xx,5xx,all>` fragment. Every delivery is recorded.
 */

export interface HookTarget {
  url: string;
  method: 'GET' | 'POST';
  username?: string;
  password?: string;
}

/** A hook that got no usable answer: an error status, a timeout, a refused connection, a body that is not JSON. */
export class HookFailure extends Error {
  override readonly name = 'HookFailure';
}

export interface HookAnswer {
  /** The parsed JSON answer; undefined when the answer carried none (204, not application/json). */
  body: unknown;
  delivery: JambonzHookDelivery;
}

type FailureKind = 'ct' | 'rt' | '4xx' | '5xx' | 'other';
interface RetryPolicy {
  count: number;
  on: Set<string>;
}

/** The statuses http-requestor accepts as success. */
const SUCCESS_STATUSES = [200, 202, 204];
const CONNECT_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT',
]);
const MAX_RETRIES = 5;

export interface HookClientOptions {
  secret: string;
  timeoutMs: number;
  delayMs: [number, number];
  duplicateStatusHooks: boolean;
  /** Reordered and lost status hooks; no retries even when a hook URL asks for them. */
  faults?: DeliveryFaults;
  log: (line: string) => void;
}

export class HookClient {
  private readonly agent = new Agent({ keepAliveTimeout: 10_000, connect: { timeout: 5_000 } });
  private readonly deliveries: JambonzHookDelivery[] = [];
  private readonly inFlight = new Map<string, number>();
  private readonly idleWaiters = new Map<string, Array<() => void>>();
  private readonly controllers = new Set<AbortController>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;
  private readonly faults: DeliveryFaults;

  constructor(private readonly options: HookClientOptions) {
    this.faults = options.faults ?? new DeliveryFaults();
  }

  /** A hook whose answer may carry verbs (session:new, session:redirect, verb:hook). Throws `HookFailure`. */
  request(
    type: Exclude<JambonzHookType, 'call:status'>,
    target: HookTarget,
    payload: object,
    callSid: string,
  ): Promise<HookAnswer> {
    const delivery = this.record(type, target, payload, callSid, false);
    return this.track(callSid, this.deliver(delivery, target, true));
  }

  /** A call:status notification: sent and forgotten, its answer ignored. */
  notify(target: HookTarget, payload: object, callSid: string): void {
    const copies = this.options.duplicateStatusHooks ? 2 : 1;
    for (let copy = 0; copy < copies; copy++) {
      const delivery = this.record('call:status', target, payload, callSid, copy > 0);
      const status = (payload as { call_status?: unknown }).call_status;
      const kinds = ['call:status', ...(typeof status === 'string' ? [`call:status:${status}`] : [])];
      if (this.faults.dropped(kinds)) {
        delivery.status = 'failed';
        delivery.dropped = true;
        delivery.error = 'lost (dropWebhooks fault)';
        this.options.log(`dropped ${kinds.at(-1)} for ${callSid} (dropWebhooks fault)`);
        continue;
      }
      const reorderDelayMs = this.faults.reorderDelayMs();
      delivery.reordered = reorderDelayMs !== undefined;
      void this.track(callSid, this.deliver(delivery, target, false, reorderDelayMs)).catch(() => undefined);
    }
  }

  /** Records why the verbs a hook returned were refused. */
  refuseVerbs(delivery: JambonzHookDelivery, reason: string): void {
    delivery.invalidVerbs = reason;
    this.options.log(`${delivery.type} ${delivery.url}: invalid verbs: ${reason}`);
  }

  /** Resolves once no hook of the call is in flight. */
  idle(callSid: string): Promise<void> {
    if (this.closed || (this.inFlight.get(callSid) ?? 0) === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const waiters = this.idleWaiters.get(callSid) ?? [];
      waiters.push(resolve);
      this.idleWaiters.set(callSid, waiters);
    });
  }

  list(): JambonzHookDelivery[] {
    return this.deliveries.map((delivery) => ({ ...delivery }));
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const controller of this.controllers) controller.abort();
    for (const timer of this.timers) clearTimeout(timer);
    for (const waiters of this.idleWaiters.values()) waiters.splice(0).forEach((resolve) => resolve());
    await this.agent.destroy();
  }

  private record(
    type: JambonzHookType,
    target: HookTarget,
    payload: object,
    callSid: string,
    duplicate: boolean,
  ): JambonzHookDelivery {
    const delivery: JambonzHookDelivery = {
      id: randomUUID(),
      type,
      callSid,
      url: target.url.split('#')[0] ?? target.url,
      method: target.method,
      body: JSON.stringify(payload),
      status: 'pending',
      attempts: 0,
      duplicate,
      sentAt: new Date().toISOString(),
    };
    this.deliveries.push(delivery);
    return delivery;
  }

  private async track<T>(callSid: string, work: Promise<T>): Promise<T> {
    this.inFlight.set(callSid, (this.inFlight.get(callSid) ?? 0) + 1);
    try {
      return await work;
    } finally {
      const left = (this.inFlight.get(callSid) ?? 1) - 1;
      this.inFlight.set(callSid, left);
      if (left === 0)
        this.idleWaiters
          .get(callSid)
          ?.splice(0)
          .forEach((resolve) => resolve());
    }
  }

  private async deliver(
    delivery: JambonzHookDelivery,
    target: HookTarget,
    readAnswer: boolean,
    reorderDelayMs?: number,
  ): Promise<HookAnswer> {
    const [min, max] = this.options.delayMs;
    if (reorderDelayMs !== undefined) await this.sleep(reorderDelayMs);
    else if (max > 0) await this.sleep(min + Math.random() * Math.max(0, max - min));
    const retry = retryPolicy(target.url);
    for (;;) {
      const failure = await this.attempt(delivery, target, readAnswer);
      if (failure === undefined) return { body: parseAnswer(delivery), delivery };
      const retryable = retry.on.has('all') || retry.on.has(failure);
      const wanted = retryable && delivery.attempts <= retry.count;
      if (wanted && this.faults.noRetry) delivery.notRetried = true;
      if (this.closed || !wanted || this.faults.noRetry) {
        delivery.status = 'failed';
        if (!this.closed) this.options.log(`${delivery.type} ${delivery.url} failed: ${delivery.error}`);
        throw new HookFailure(`${delivery.type} ${delivery.url}: ${delivery.error}`);
      }
      await this.sleep(retryDelayMs(delivery.attempts));
    }
  }

  /** One attempt; undefined on success, else what kind of failure it was (for the retry policy). */
  private async attempt(
    delivery: JambonzHookDelivery,
    target: HookTarget,
    readAnswer: boolean,
  ): Promise<FailureKind | undefined> {
    if (this.closed) {
      delivery.error = 'simulator closed';
      return 'other';
    }
    delivery.attempts++;
    delivery.lastAttemptAt = new Date().toISOString();
    const controller = new AbortController();
    this.controllers.add(controller);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.options.timeoutMs);
    try {
      const response = await request(delivery.url, {
        method: target.method,
        headers: this.headers(delivery, target),
        // A GET hook carries only its URL's own query: the payload is signed but not sent.
        body: target.method === 'POST' ? delivery.body : undefined,
        dispatcher: this.agent,
        signal: controller.signal,
      });
      delivery.httpStatus = response.statusCode;
      const contentType = String(response.headers['content-type'] ?? '');
      if (readAnswer && contentType.includes('application/json')) delivery.response = await response.body.text();
      else await response.body.dump();
      if (!SUCCESS_STATUSES.includes(response.statusCode)) {
        delivery.error = `HTTP ${response.statusCode}`;
        return response.statusCode >= 500 ? '5xx' : '4xx';
      }
      delivery.status = 'answered';
      delivery.answeredAt = new Date().toISOString();
      delivery.error = undefined;
      return undefined;
    } catch (err) {
      if (timedOut) {
        delivery.error = `no answer within ${this.options.timeoutMs} ms`;
        return 'rt';
      }
      const code = (err as { code?: string }).code;
      delivery.error = err instanceof Error ? err.message : String(err);
      return code !== undefined && CONNECT_ERROR_CODES.has(code) ? 'ct' : 'other';
    } finally {
      clearTimeout(timer);
      this.controllers.delete(controller);
    }
  }

  private headers(delivery: JambonzHookDelivery, target: HookTarget): Record<string, string> {
    const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'jambonz' };
    if (this.options.secret.length > 0)
      headers['jambonz-signature'] = signatureHeader(this.options.secret, delivery.body);
    if (target.username !== undefined && target.password !== undefined) {
      headers.authorization = `Basic ${Buffer.from(`${target.username}:${target.password}`).toString('base64')}`;
    }
    return headers;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
    });
  }
}

/** `Jambonz-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`, made fresh for each attempt. */
export function signatureHeader(secret: string, body: string, nowMs = Date.now()): string {
  const timestamp = Math.floor(nowMs / 1000);
  const signature = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  return `t=${timestamp},v1=${signature}`;
}

/** The JSON of an answer; an answer that claims JSON but is not is a failed hook, as in http-requestor. */
function parseAnswer(delivery: JambonzHookDelivery): unknown {
  const text = delivery.response;
  if (text === undefined || text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    delivery.status = 'failed';
    delivery.error = 'the answer is not valid JSON';
    throw new HookFailure(`${delivery.type} ${delivery.url}: the answer is not valid JSON`);
  }
}

/** `#rc=3&rp=ct,5xx` on a hook URL: retry count (0-5) and what to retry (default: connection errors). */
function retryPolicy(url: string): RetryPolicy {
  const fragment = url.split('#')[1];
  if (fragment === undefined) return { count: 0, on: new Set() };
  const params = new URLSearchParams(fragment);
  const count = Math.min(MAX_RETRIES, Math.max(0, Number(params.get('rc') ?? 0) || 0));
  const on = new Set((params.get('rp') ?? 'ct').split(',').map((policy) => policy.trim()));
  return { count, on };
}

/** 500 ms doubling up to 2 s, then 2 s more per retry. */
function retryDelayMs(attempt: number): number {
  const doubled = 500 * 2 ** (attempt - 1);
  return doubled <= 2_000 ? doubled : 2_000 + (attempt - 3) * 2_000;
}

/**
 * A hook as jambonz reads it from a verb or a REST body: a URL string or `{url, method, username, password}`.
 * A relative URL resolves against the application's base URL (scheme and host of its call_hook).
 */
export function toHookTarget(spec: unknown, baseUrl: string): HookTarget | undefined {
  const hook: Record<string, unknown> | undefined =
    typeof spec === 'string'
      ? { url: spec }
      : typeof spec === 'object' && spec !== null
        ? (spec as Record<string, unknown>)
        : undefined;
  if (hook === undefined || typeof hook.url !== 'string' || hook.url.length === 0) return undefined;
  return {
    url: hook.url.startsWith('/') ? `${baseUrl}${hook.url}` : hook.url,
    method: typeof hook.method === 'string' && hook.method.toUpperCase() === 'GET' ? 'GET' : 'POST',
    ...(typeof hook.username === 'string' && { username: hook.username }),
    ...(typeof hook.password === 'string' && { password: hook.password }),
  };
}
