import {
  ApplicationFailure,
  ContinueAsNew,
  allHandlersFinished,
  condition,
  log,
  setHandler,
} from '@temporalio/workflow';
import {
  ErrorType,
  callEventSignal,
  controlUpdate,
  nextDocumentUpdate,
  isCallEnded,
  offerResultSignal,
  queueNoticeSignal,
  stateQuery,
  type CallOutcome,
  type CallSessionInput,
} from '../src/calls';
import { FLOWS } from './flows';
import { queueCallbackArgs } from './flows/queue';
import { CallSession } from './session';

/**
 * One phone call, start to end. Carrier webhooks arrive as `callEvent` signals (the gateway starts the
 * session with signal-with-start on an inbound call's first event); the routing table's flow drives the
 * call through the `CallSession` flow API.
 */
export async function callSessionWorkflow(input: CallSessionInput): Promise<CallOutcome> {
  const session = new CallSession(input);
  // Handlers first: signals sent with signal-with-start are buffered until a handler exists.
  setHandler(callEventSignal, (event) => session.onEvent(event));
  setHandler(stateQuery, () => session.state);
  setHandler(nextDocumentUpdate, (request) => session.nextDocument(request));
  setHandler(queueNoticeSignal, (notice) => session.onQueueNotice(notice));
  setHandler(controlUpdate, (args) => session.control(args), {
    validator: (args) => session.validateControl(args, Object.keys(FLOWS)),
  });
  // Liveness for the whole call (sessions recorded before the watchdog replay without it).
  void session.watch();

  let flowResult: string | undefined;
  let flowFailure: ApplicationFailure | undefined;
  const flowNamed = (name: string) => (FLOWS as Record<string, (typeof FLOWS)[keyof typeof FLOWS] | undefined>)[name];
  const flow = flowNamed(input.flow);
  try {
    if (!flow) {
      flowFailure = ApplicationFailure.nonRetryable(`no flow named "${input.flow}"`, ErrorType.UnknownFlow);
      if (input.direction === 'inbound') await session.reject('rejected');
    } else {
      if (input.direction === 'outbound' && !input.carried) {
        const placed = await session.placePrimary({ to: input.to, from: input.from, timeoutSeconds: 30 });
        if (!placed.answered) {
          flowResult = `not answered (${placed.endCause ?? 'unknown'})`;
          // A queue's callback: the queue tries the customer again later, keeping their place.
          const callback = queueCallbackArgs(input.flow, input.flowArgs);
          if (callback) {
            await session.reportToQueue(callback.queue, offerResultSignal, {
              ticket: callback.ticket,
              offerId: callback.offerId,
              outcome: 'customer-no-answer',
            });
          }
        }
      }
      if (!session.ended) {
        const context = { args: input.flowArgs ?? {}, resume: session.resumeFrom };
        flowResult = (await session.runFlow(flow, context, flowNamed)) ?? 'done';
      }
    }
  } catch (err) {
    if (err instanceof ContinueAsNew) throw err;
    if (isCallEnded(err)) {
      flowResult = `call ended (${err.endCause})${err.operation ? ` during ${err.operation}` : ''}`;
    } else {
      // A flow bug or a carrier refusal: end the call cleanly, then fail the run so it stands out in the UI.
      log.error('flow failed', { error: (err as Error)?.message });
      session.noteFlowError(err);
      flowFailure = ApplicationFailure.nonRetryable(
        `flow ${input.flow} failed: ${(err as Error)?.message}`,
        ErrorType.FlowFailed,
      );
    }
  }

  await session.close();
  session.conclude(flowFailure !== undefined);
  await condition(allHandlersFinished);
  if (flowFailure) throw flowFailure;
  const { state } = session;
  return {
    status: 'ended',
    endCause: state.endCause,
    flow: state.flow,
    flowResult,
    digits: state.digits,
    recordings: state.recordings.map((r) => r.url ?? ''),
    ...(state.fax ? { fax: state.fax } : {}),
    runs: state.runs,
  };
}
