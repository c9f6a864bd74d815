import {
  ApplicationFailure,
  CancellationScope,
  ParentClosePolicy,
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  setCurrentDetails,
  setHandler,
  sleep,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import {
  CALL_SESSION_WORKFLOW,
  CallQueueKey,
  QUEUE_REQUEST_REJECTED,
  agentCallEndedSignal,
  agentUpdate,
  changePriorityUpdate,
  configureQueueUpdate,
  joinQueueUpdate,
  leaveQueueSignal,
  offerResultSignal,
  queueNoticeSignal,
  queuePositionQuery,
  queueStateQuery,
  removeEntryUpdate,
  requestCallbackSignal,
  type CallQueueInput,
  type CallSessionInput,
} from '../src/calls';
import { QueueCore, QueueRejection, type QueueEffect } from './queue-core';

/**
 * A call queue (`queue:<name>`): the entity that holds the line, the agents and the figures. Every message
 * goes through `QueueCore` at once (handlers are synchronous, so they are never left unfinished); what it
 * decides comes back as effects, which the main loop sends: a signal to a caller's session, or the start of
 * a callback session. One timer is armed at a time, for the core's next deadline (an offer's ring time, a
 * wrap-up, a max wait, a callback's delay), and replaced only when that deadline moves. The run continues as
 * new with the core's plain-JSON state before its history grows long; see src/calls/queue.ts for the protocol.
 */

/**
 * Continue as new at this history length unless the input says otherwise (Temporal suggests it at 4096).
 * Shorter runs replay faster after a cache miss (2000 events took 5.6 s on a saturated 2-core machine), but
 * each continue-as-new aborts the updates in flight (their clients retry): bench:queue did worse at 1000.
 */
export const QUEUE_MAX_HISTORY_EVENTS = 2000;
/** Temporal refuses an execution's 2001st update and 10,001st signal: continue as new well before. */
const MAX_UPDATES_PER_RUN = 1500;
const MAX_SIGNALS_PER_RUN = 8000;

export async function callQueueWorkflow(input: CallQueueInput): Promise<never> {
  const core = QueueCore.start(input.name, input.config, input.carried);
  const outbox: QueueEffect[] = [];
  let updates = 0;
  let signals = 0;
  let effectsInFlight = 0;

  const now = () => Date.now();
  const emit = (effects: QueueEffect[]) => {
    outbox.push(...effects);
  };
  /** Updates: a refusal goes back to the caller as a failure; the validator refuses most before history. */
  const update = <T>(run: () => T): T => {
    updates++;
    try {
      return run();
    } catch (err) {
      if (err instanceof QueueRejection) throw ApplicationFailure.nonRetryable(err.message, QUEUE_REQUEST_REJECTED);
      throw err;
    }
  };
  const validate = (problem: string | undefined) => {
    if (problem) throw new Error(problem);
  };
  /** Signals: a throwing signal handler would fail the workflow task, so a bad report is logged and dropped. */
  const signal = (name: string, run: () => QueueEffect[]) => {
    signals++;
    try {
      emit(run());
    } catch (err) {
      log.warn(`queue ${input.name}: ${name} could not be applied`, { error: (err as Error)?.message });
    }
  };

  // Handlers first: the join that started the queue (update-with-start) is delivered with the first task.
  setHandler(
    joinQueueUpdate,
    (req) =>
      update(() => {
        const { result, effects } = core.join(req, now());
        emit(effects);
        return result;
      }),
    { validator: (req) => validate(core.checkJoin(req)) },
  );
  setHandler(
    agentUpdate,
    (change) =>
      update(() => {
        const { agent, effects } = core.changeAgent(change, now());
        emit(effects);
        return agent;
      }),
    { validator: (change) => validate(core.checkAgentChange(change)) },
  );
  setHandler(
    changePriorityUpdate,
    (req) =>
      update(() => {
        const { position, effects } = core.changePriority(req, now());
        emit(effects);
        return position;
      }),
    { validator: (req) => validate(core.checkTicket(req)) },
  );
  setHandler(
    removeEntryUpdate,
    (req) =>
      update(() => {
        const { position, effects } = core.removeEntry(req, now());
        emit(effects);
        return position;
      }),
    { validator: (req) => validate(core.checkTicket(req)) },
  );
  setHandler(configureQueueUpdate, (config) =>
    update(() => {
      const result = core.configure(config, now());
      emit(result.effects);
      return result.config;
    }),
  );
  setHandler(offerResultSignal, (report) => signal('offer result', () => core.offerResult(report, now())));
  setHandler(agentCallEndedSignal, (report) => signal('agent call end', () => core.agentCallEnded(report, now())));
  setHandler(leaveQueueSignal, (report) => signal('leave', () => core.leave(report, now())));
  setHandler(requestCallbackSignal, (report) => signal('callback request', () => core.requestCallback(report, now())));
  // Queries add no history; a reader passes its own clock, as workflow time stands still between tasks.
  setHandler(queueStateQuery, (opts) => core.view(opts?.now ?? now()));
  setHandler(queuePositionQuery, ({ ticket, now: at }) => core.position(ticket, at ?? now()));

  if (workflowInfo().typedSearchAttributes.get(CallQueueKey) !== input.name) {
    upsertSearchAttributes([{ key: CallQueueKey, value: input.name }]);
  }

  const notify = async (effect: Extract<QueueEffect, { kind: 'notify' }>) => {
    try {
      await getExternalWorkflowHandle(effect.workflowId).signal(queueNoticeSignal, effect.notice);
    } catch (err) {
      // The session has ended (or never existed): its caller is gone.
      log.info(`queue ${input.name}: ${effect.notice.kind} for ${effect.notice.ticket} undeliverable`, {
        error: (err as Error)?.message,
      });
      emit(core.noticeUndeliverable(effect.notice, now()));
    }
  };
  const startCallback = async (effect: Extract<QueueEffect, { kind: 'startCallback' }>) => {
    const session: CallSessionInput = {
      provider: effect.callback.provider,
      direction: 'outbound',
      flow: effect.flow,
      flowArgs: effect.flowArgs,
      from: effect.callback.from,
      to: effect.callback.to,
      ...(effect.callback.documentOps ? { documentOps: effect.callback.documentOps } : {}),
    };
    try {
      // Abandoned by the queue: the callback outlives this run's continue-as-new. Its id is unique per
      // attempt, so a start replayed after a crash cannot call the customer twice.
      await startChild(CALL_SESSION_WORKFLOW, {
        workflowId: effect.workflowId,
        args: [session],
        parentClosePolicy: ParentClosePolicy.ABANDON,
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        staticSummary: `Callback from queue ${input.name} (attempt ${effect.flowArgs.attempt})`,
      });
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return;
      log.warn(`queue ${input.name}: callback session ${effect.workflowId} did not start`, {
        error: (err as Error)?.message,
      });
      emit(core.callbackStartFailed(effect.ticket, effect.offerId, now()));
    }
  };
  const dispatch = (effect: QueueEffect) => {
    effectsInFlight++;
    const sent = effect.kind === 'notify' ? notify(effect) : startCallback(effect);
    void sent.finally(() => effectsInFlight--);
  };
  const sendOutbox = () => {
    for (const effect of outbox.splice(0)) dispatch(effect);
  };

  // The one timer, for the core's next deadline.
  let timer: { at: number; fired: boolean; scope: CancellationScope } | undefined;
  const armTimer = (at: number | undefined) => {
    if (timer && timer.at === at && !timer.fired) return;
    if (timer && !timer.fired) timer.scope.cancel();
    timer = undefined;
    if (at === undefined) return;
    const armed = { at, fired: false, scope: new CancellationScope() };
    timer = armed;
    void armed.scope
      .run(() => sleep(Math.max(1, at - now())))
      .then(
        () => {
          armed.fired = true;
        },
        (err) => {
          // Cancelled because the deadline moved; anything else is not expected from a timer.
          if (!isCancellation(err)) log.warn('queue timer failed', { error: (err as Error)?.message });
        },
      );
  };

  const historyLimit = input.continueAsNewAtHistoryLength ?? QUEUE_MAX_HISTORY_EVENTS;
  const timeToContinueAsNew = () =>
    workflowInfo().continueAsNewSuggested ||
    workflowInfo().historyLength >= historyLimit ||
    updates >= MAX_UPDATES_PER_RUN ||
    signals >= MAX_SIGNALS_PER_RUN;

  for (;;) {
    if (timer?.fired) {
      timer = undefined;
      emit(core.tick(now()));
    }
    sendOutbox();
    setCurrentDetails(details(core, now()));
    if (timeToContinueAsNew()) break;
    armTimer(core.nextDeadline());
    await condition(
      () => outbox.length > 0 || timer?.fired === true || core.nextDeadline() !== timer?.at || timeToContinueAsNew(),
    );
  }

  // Everything decided so far is sent before the state moves to the next run.
  while (outbox.length > 0 || effectsInFlight > 0 || !allHandlersFinished()) {
    sendOutbox();
    await condition(() => outbox.length > 0 || (effectsInFlight === 0 && allHandlersFinished()));
  }
  return continueAsNew<typeof callQueueWorkflow>({ ...input, carried: core.state });
}

/** The live summary on the workflow's page in the Temporal UI (markdown; served by query, no history). */
function details(core: QueueCore, now: number): string {
  const stats = core.statistics(now);
  const byState = new Map<string, number>();
  for (const agent of core.state.agents) byState.set(agent.state, (byState.get(agent.state) ?? 0) + 1);
  const agents = [...byState].map(([state, n]) => `${n} ${state}`).join(', ') || 'none signed in';
  const percent = stats.serviceLevel === undefined ? 'n/a' : `${Math.round(stats.serviceLevel * 100)}%`;
  const seconds = (value: number | undefined) => (value === undefined ? 'n/a' : `${Math.round(value)} s`);
  return [
    `**${core.state.name}**: ${stats.waiting} waiting (longest ${stats.longestWaitSeconds} s); agents: ${agents}`,
    `answered ${stats.answered}, abandoned ${stats.abandoned}, overflowed ${stats.overflowed}, ` +
      `callbacks ${stats.callbacksRequested}`,
    `last ${Math.round(stats.windowSeconds / 60)} min: service level ${percent} within ` +
      `${core.config.serviceLevelSeconds} s, ASA ${seconds(stats.windowAverageSpeedOfAnswerSeconds)}, ` +
      `AHT ${seconds(stats.windowAverageHandleSeconds)}; run ${core.state.runs}`,
  ].join('  \n');
}
