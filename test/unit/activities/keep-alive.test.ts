import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../../../activities';
import { createTelnyxAdapter } from '../../../src/providers/telnyx';

/**
 * A command activity heartbeats while its request is slow, so Temporal retries one whose worker died within
 * the 1.5 s heartbeat timeout instead of its 5 s start-to-close timeout; a quick one sends no heartbeat.
 */
describe('command activities keep alive', () => {
  const adapter = createTelnyxAdapter({ connectionId: 'c', voice: 'female', faxConnectionId: 'f' });

  function activitiesAnsweringAfter(ms: number) {
    const http = {
      send: () =>
        new Promise<unknown>((resolve) =>
          setTimeout(
            () =>
              resolve({
                data: { result: 'ok', call_control_id: 'v3:new-leg', call_leg_id: 'l', call_session_id: 's' },
              }),
            ms,
          ),
        ),
      close: () => Promise.resolve(),
    };
    return createActivities({ carriers: { telnyx: { adapter, http } } });
  }

  async function heartbeatsDuring(run: (env: MockActivityEnvironment) => Promise<unknown>) {
    const env = new MockActivityEnvironment();
    let heartbeats = 0;
    env.on('heartbeat', () => heartbeats++);
    await run(env);
    return heartbeats;
  }

  const speak = {
    op: 'say' as const,
    text: 'hello',
    provider: 'telnyx' as const,
    callId: 'v3:leg',
    commandKey: 'call:telnyx:v3:leg#1',
    ownerWorkflowId: 'call:telnyx:v3:leg',
  };

  it('sends no heartbeat for a quick command', async () => {
    const activities = activitiesAnsweringAfter(20);
    expect(await heartbeatsDuring((env) => env.run(activities.sendCallCommand, speak))).toBe(0);
  });

  it('heartbeats every 400 ms while a command is slow', async () => {
    const activities = activitiesAnsweringAfter(1300);
    const count = await heartbeatsDuring((env) => env.run(activities.sendCallCommand, speak));
    expect(count).toBeGreaterThanOrEqual(2);
    expect(count).toBeLessThanOrEqual(4);
  });

  it('never heartbeats while placing a leg: its heartbeat details are the note to its next attempt', async () => {
    const activities = activitiesAnsweringAfter(900);
    const count = await heartbeatsDuring((env) =>
      env.run(activities.placeCall, {
        provider: 'telnyx' as const,
        to: '+15550001111',
        from: '+15550002222',
        commandKey: 'call:telnyx:v3:leg#2',
        ownerWorkflowId: 'call:telnyx:v3:leg',
      }),
    );
    expect(count).toBe(0);
  });
});
