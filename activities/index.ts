import { ApplicationFailure } from '@temporalio/common';
import { Context } from '@temporalio/activity';
import {
  ErrorType,
  type CallCommand,
  type FaxCallRequest,
  type FaxStatusReport,
  type PlaceCallRequest,
  type PlacedCall,
  type Provider,
} from '../src/calls';
import { CARRIERS, type CarrierClient } from '../src/providers/carriers';
import { CarrierError, certainlyNotActed } from '../src/providers/errors';
import { OpRoute, unsupported } from '../src/providers/ops';
import type { CarrierRequest } from '../src/providers/types';
import { createQueueActivities, type QueueActivityDeps } from './queues';

/**
 * Carrier commands as activities. Each activity sends exactly one HTTP request and turns the outcome into
 * Temporal's terms: success, a retryable failure (with `nextRetryDelay` from `Retry-After`) or a
 * non-retryable one whose `type` the session understands (`CallGone`, `Unsupported`, ...).
 */

/** Heartbeat details a failed `placeCall` attempt leaves for the next one. */
interface DialAttemptNote {
  /**
   * The attempt that certainly did not place a call, so the one after it may dial. Heartbeat details outlive
   * the attempt that recorded them (Temporal hands the last ones to every later attempt), so the note names
   * its attempt: an attempt that dialed, succeeded and lost its completion (Temporal down, the worker killed
   * before it reported) leaves no note of its own, and the attempt after it must not read attempt 1's as leave
   * to dial again. That read sent one chaos fax twice.
   */
  notPlacedAttempt: number;
}

export interface ActivityDeps {
  carriers: Partial<Record<Provider, CarrierClient>>;
  /** Queue activities (join, position); a worker without them fails those activities with a clear error. */
  queues?: QueueActivityDeps;
}

export type SendCommandInput = CallCommand & { provider: Provider };
export type PlaceCallInput = PlaceCallRequest & { provider: Provider };
export type PlaceFaxCallInput = FaxCallRequest & { provider: Provider };
export interface StopFaxInput {
  provider: Provider;
  callId: string;
  /** The carrier's id of the running fax, from its events. */
  controlId: string;
  direction: 'send' | 'receive';
}

/**
 * How often an activity still running heartbeats (COMMAND_OPTIONS' `heartbeatTimeout` is 1.5 s; the worker's
 * `maxHeartbeatThrottleInterval` lets one out every 500 ms). The first comes after this long, so a quick
 * request costs Temporal nothing.
 */
const KEEP_ALIVE_EVERY_MS = 400;

/** Runs `work`, heartbeating while it takes long, so a worker that dies mid-request is noticed in seconds. */
async function keepAlive<T>(work: () => Promise<T>): Promise<T> {
  const context = Context.current();
  const timer = setInterval(() => context.heartbeat(), KEEP_ALIVE_EVERY_MS);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}

function dialOutcomeUnknown(provider: Provider, what: string, cause?: CarrierError): ApplicationFailure {
  return ApplicationFailure.create({
    type: ErrorType.DialOutcomeUnknown,
    message: `${provider} may have placed the ${what} already (${cause?.message ?? 'an earlier attempt did not finish'}); not asking again, because ${provider} has no idempotency key for it`,
    nonRetryable: true,
    cause,
  });
}

function toFailure(err: unknown): unknown {
  if (!(err instanceof CarrierError)) return err;
  return ApplicationFailure.create({
    type: err.type,
    message: err.message,
    nonRetryable: !err.retryable,
    nextRetryDelay: err.retryAfterMs,
    details: [err.details],
    cause: err,
  });
}

/**
 * One attempt at placing a leg or a fax. Where the request has no idempotency key (SignalWire and jambonz
 * `dial`, Telnyx `POST /faxes`), an attempt that may have reached the carrier is never followed by another: a failed attempt records (as
 * heartbeat details, which Temporal hands to the next attempt) whether it certainly placed nothing, and a
 * retry without that note, after a timeout or a worker crash mid-request, gives up with
 * `DialOutcomeUnknown` instead of risking a second call.
 */
async function placeOnce(
  provider: Provider,
  client: CarrierClient,
  build: () => CarrierRequest,
  read: (responseBody: unknown) => PlacedCall,
  idempotent: boolean,
  what: 'call' | 'fax',
): Promise<PlacedCall> {
  const { http } = client;
  const context = Context.current();
  if (!idempotent && context.info.attempt > 1) {
    const note = context.info.heartbeatDetails as Partial<DialAttemptNote> | undefined;
    if (note?.notPlacedAttempt !== context.info.attempt - 1) throw dialOutcomeUnknown(provider, what);
  }
  try {
    return read(await http.send(build(), { signal: context.cancellationSignal }));
  } catch (err) {
    if (!idempotent && err instanceof CarrierError && err.retryable) {
      if (!certainlyNotActed(err)) throw dialOutcomeUnknown(provider, what, err);
      context.heartbeat({ notPlacedAttempt: context.info.attempt } satisfies DialAttemptNote);
    }
    throw toFailure(err);
  }
}

export function createActivities(deps: ActivityDeps) {
  return keepingAlive(carrierActivities(deps), ['placeCall', 'placeFaxCall']);
}

/**
 * Every activity heartbeats while it runs long, except those listed: leg and fax placement, whose heartbeat
 * details are a note to their next attempt and which run under options without a heartbeat timeout.
 */
function keepingAlive<A extends Record<string, (input: never) => Promise<unknown>>>(
  activities: A,
  except: Array<keyof A>,
): A {
  const wrapped = { ...activities };
  for (const name of Object.keys(activities) as Array<keyof A>) {
    if (except.includes(name)) continue;
    const run = activities[name];
    wrapped[name] = ((input: never) => keepAlive(() => run(input))) as A[keyof A];
  }
  return wrapped;
}

function carrierActivities(deps: ActivityDeps) {
  const carrier = (provider: Provider): CarrierClient => {
    const client = deps.carriers[provider];
    if (!client) {
      throw ApplicationFailure.create({
        type: ErrorType.CarrierNotConfigured,
        message: `this worker has no ${provider} carrier configured`,
        nonRetryable: false, // another worker, or this one after a config fix, may have it
      });
    }
    return client;
  };

  // The activity's cancellation aborts the request.
  const signal = () => Context.current().cancellationSignal;

  return {
    ...queueActivities(deps.queues),
    /** Sends one command to a leg. Idempotent at the carrier through the command key. */
    async sendCallCommand(input: SendCommandInput): Promise<void> {
      const { provider, ...command } = input;
      const { adapter, http } = carrier(provider);
      try {
        if (CARRIERS[provider].ops[command.op] === OpRoute.Unsupported) throw unsupported(provider, command.op);
        await http.send(adapter.commandRequest(command), { signal: signal() });
      } catch (err) {
        throw toFailure(err);
      }
    },

    /** Places a new leg and returns the carrier's id for it (see `placeOnce` on carriers without a dial key). */
    async placeCall(input: PlaceCallInput): Promise<PlacedCall> {
      const { provider, ...request } = input;
      const client = carrier(provider);
      const { adapter } = client;
      return placeOnce(
        provider,
        client,
        () => adapter.placeCallRequest(request),
        (body) => adapter.placedCall(body),
        adapter.dialIsIdempotent,
        'call',
      );
    },

    /**
     * Starts sending a fax (the send-fax workflow): a call that sends it once answered, or the carrier's fax API
     * (Telnyx `POST /faxes`). The same rule as `placeCall`: a request without an idempotency key is never sent
     * twice for one attempt.
     */
    async placeFaxCall(input: PlaceFaxCallInput): Promise<PlacedCall> {
      const { provider, ...request } = input;
      const client = carrier(provider);
      const { adapter } = client;
      const build = adapter.placeFaxCallRequest?.bind(adapter);
      if (!build) throw toFailure(unsupported(provider, 'sendFax'));
      const read = adapter.placedFax?.bind(adapter) ?? adapter.placedCall.bind(adapter);
      const idempotent = adapter.faxIsIdempotent ?? adapter.dialIsIdempotent;
      return placeOnce(provider, client, () => build(request), read, idempotent, 'fax');
    },

    /** Stops a running fax (a cancelled send). Idempotent at the carrier: stopping a finished fax changes nothing. */
    async stopFax(input: StopFaxInput): Promise<void> {
      const { adapter, http } = carrier(input.provider);
      if (!adapter.stopFaxRequest) throw toFailure(unsupported(input.provider, 'stopFax'));
      try {
        await http.send(adapter.stopFaxRequest(input.callId, input.controlId, input.direction), { signal: signal() });
      } catch (err) {
        throw toFailure(err);
      }
    },

    /** Asks the carrier whether a leg is still up (reconciliation after a missing webhook). */
    async fetchCallStatus(input: { provider: Provider; callId: string }): Promise<{ alive: boolean }> {
      const { adapter, http } = carrier(input.provider);
      try {
        return { alive: adapter.callIsAlive(await http.send(adapter.callStatusRequest(input.callId))) };
      } catch (err) {
        if (err instanceof CarrierError && err.type === ErrorType.CallGone) return { alive: false };
        if (err instanceof CarrierError && err.details.status === 404) return { alive: false };
        throw toFailure(err);
      }
    },

    // Faxes that are the carrier's own resources (Telnyx Programmable Fax).
    /** Reads a fax by its carrier id: a fax whose final webhook was lost is reconciled from its status. */
    async fetchFaxStatus(input: { provider: Provider; faxId: string }): Promise<FaxStatusReport> {
      const { adapter, http } = carrier(input.provider);
      if (!adapter.faxStatusRequest || !adapter.faxStatus) throw toFailure(unsupported(input.provider, 'faxStatus'));
      try {
        return adapter.faxStatus(await http.send(adapter.faxStatusRequest(input.faxId), { signal: signal() }));
      } catch (err) {
        throw toFailure(err);
      }
    },

    /** Renews a received fax's document URL (it expires in minutes) and reads the new one. */
    async refreshFaxDocument(input: { provider: Provider; faxId: string }): Promise<FaxStatusReport> {
      const { adapter, http } = carrier(input.provider);
      if (!adapter.refreshFaxDocumentRequest || !adapter.faxStatusRequest || !adapter.faxStatus)
        throw toFailure(unsupported(input.provider, 'refreshFaxDocument'));
      try {
        await http.send(adapter.refreshFaxDocumentRequest(input.faxId), { signal: signal() });
        return adapter.faxStatus(await http.send(adapter.faxStatusRequest(input.faxId), { signal: signal() }));
      } catch (err) {
        throw toFailure(err);
      }
    },
  };
}

function queueActivities(deps: QueueActivityDeps | undefined): ReturnType<typeof createQueueActivities> {
  if (deps) return createQueueActivities(deps);
  const missing = (): never => {
    throw ApplicationFailure.nonRetryable('this worker was started without queues (no Temporal client)');
  };
  return { joinQueue: async () => missing(), readQueuePosition: async () => missing() };
}

export type CallActivities = ReturnType<typeof createActivities>;
