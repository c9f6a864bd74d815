import { condition, defineSignal, proxyActivities, setHandler } from '@temporalio/workflow';

/**
 * The floor: the least a durable reaction can cost. Each signal names a carrier action; the workflow
 * sends it as one activity (one HTTP request, eagerly dispatched to the same worker). No flow, no
 * de-duplication, no bookkeeping. `end` finishes the run.
 */

export const actionSignal = defineSignal<[string]>('action');

export interface FloorActivities {
  sendAction(callId: string, action: string): Promise<void>;
}

// The session's command options (minus the retry policy's error types, which never come into play here).
const { sendAction } = proxyActivities<FloorActivities>({
  startToCloseTimeout: '10 seconds',
  scheduleToCloseTimeout: '55 seconds',
  retry: { initialInterval: '250 ms', backoffCoefficient: 2, maximumInterval: '5 seconds' },
});

export async function floorWorkflow(callId: string): Promise<void> {
  const inbox: string[] = [];
  setHandler(actionSignal, (action) => void inbox.push(action));
  for (;;) {
    await condition(() => inbox.length > 0);
    const action = inbox.shift()!;
    if (action === 'end') return;
    await sendAction(callId, action);
  }
}
