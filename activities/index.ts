import { ApplicationFailure } from '@temporalio/common';
import { Context } from '@temporalio/activity';
import type { CallCommand, PlaceCallRequest, PlacedCall, Provider } from '../src/calls';
import { CarrierError } from '../src/providers/errors';
import type { CarrierHttp } from '../src/providers/http';
import type { CommandCarrier } from '../src/providers/types';

/**
 * Carrier commands as activities. Each activity sends exactly one HTTP request and turns the outcome into
 * Temporal's terms: success, a retryable failure (with `nextRetryDelay` from `Retry-After`) or a
 * non-retryable one whose `type` the session understands (`CallGone`, `Unsupported`, ...).
 */

/** A carrier the worker can command: its pure adapter and its HTTP pool. */
export interface CarrierClient {
  adapter: CommandCarrier;
  http: CarrierHttp;
}

export interface ActivityDeps {
  carriers: Partial<Record<Provider, CarrierClient>>;
}

export type SendCommandInput = CallCommand & { provider: Provider };
export type PlaceCallInput = PlaceCallRequest & { provider: Provider };

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

export function createActivities(deps: ActivityDeps) {
  const carrier = (provider: Provider): CarrierClient => {
    const client = deps.carriers[provider];
    if (!client) {
      throw ApplicationFailure.create({
        type: 'CarrierNotConfigured',
        message: `this worker has no ${provider} carrier configured`,
        nonRetryable: false, // another worker, or this one after a config fix, may have it
      });
    }
    return client;
  };

  // The activity's cancellation aborts the request (the workflow cancels commands when a call ends).
  const signal = () => {
    try {
      return Context.current().cancellationSignal;
    } catch {
      return undefined; // called outside an activity (unit tests)
    }
  };

  return {
    /** Sends one command to a leg. Idempotent at the carrier through the command key. */
    async sendCallCommand(input: SendCommandInput): Promise<void> {
      const { provider, ...command } = input;
      const { adapter, http } = carrier(provider);
      try {
        await http.send(adapter.commandRequest(command), { signal: signal() });
      } catch (err) {
        throw toFailure(err);
      }
    },

    /** Places a new leg and returns the carrier's id for it. */
    async placeCall(input: PlaceCallInput): Promise<PlacedCall> {
      const { provider, ...request } = input;
      const { adapter, http } = carrier(provider);
      try {
        return adapter.placedCall(await http.send(adapter.placeCallRequest(request), { signal: signal() }));
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
        if (err instanceof CarrierError && err.type === 'CallGone') return { alive: false };
        if (err instanceof CarrierError && err.details.status === 404) return { alive: false };
        throw toFailure(err);
      }
    },
  };
}

export type CallActivities = ReturnType<typeof createActivities>;
