import path from 'node:path';
import { PROVIDERS, type Provider } from '../../src/calls';
import {
  CHAOS_SCRIPTS,
  fetchCarrierLogs,
  judgeCall,
  runningSessions,
  sessionFacts,
  type CarrierLogs,
  type PlacedCall,
  type ScriptName,
} from '../../bench/chaos-analysis';
import { resolveTemporalCli } from '../../src/dev/temporal-cli';
import { startTemporalCluster, type TemporalCluster } from '../../src/dev/temporal-cluster';
import { eventually } from '../support/net';
import { PROJECT_ROOT, startTestStack, type TestStack } from '../support/stack';

/**
 * The production engine (issue 11): Temporal built from source, two server processes on PostgreSQL behind a
 * balancer, two gateways behind HAProxy, two workers. Mid-call, one Temporal server, one worker and one gateway
 * are SIGKILLed: every call still finishes its flow, no command is sent twice, no session is left running. The
 * server is then started again and rejoins.
 *
 * The first run on a machine builds the server (`go install`, a few minutes; `.ci/run` does it before the tests).
 */

async function place(stack: TestStack, carrier: Provider, script: ScriptName, n: number): Promise<PlacedCall> {
  // The agent caller talks for two simulated minutes (30 s here): the history shards of a killed server move to
  // the other once membership has declared it gone, which can hold a flow for 10-15 s.
  const patience = script === 'agent' ? { hangupAfterMs: 120_000 } : {};
  const caller = { from: `+1555777${carrier.length}${n}00`, to: '+15550001000', ...CHAOS_SCRIPTS[script], ...patience };
  if (carrier === 'telnyx') {
    const { callControlId, workflowId } = await stack.telnyx.placeCall(caller);
    return { carrier, script, callId: callControlId, workflowId };
  }
  if (carrier === 'signalwire') {
    const { callId, workflowId } = await stack.signalwire.placeCall(caller);
    return { carrier, script, callId, workflowId };
  }
  const { callSid, workflowId } = await stack.jambonz.placeCall(caller);
  return { carrier, script, callId: callSid, workflowId };
}

describe('the production engine: failover', () => {
  let cluster: TemporalCluster | undefined;
  let stack: TestStack | undefined;
  const clusterLog: string[] = [];

  beforeAll(async () => {
    const log = (line: string) => clusterLog.push(line);
    cluster = await startTemporalCluster({
      dir: path.join(PROJECT_ROOT, '.data', 'test-cluster'),
      servers: 2,
      portBase: 17600,
      log,
      cli: await resolveTemporalCli({ log, projectRoot: PROJECT_ROOT }),
    });
    stack = await startTestStack({
      temporalAddress: cluster.address,
      simulate: [...PROVIDERS],
      gateways: 2,
      workers: 2,
      timeScale: 0.25,
    });
  }, 15 * 60_000);

  afterAll(async () => {
    if (expect.getState().assertionCalls !== expect.getState().numPassingAsserts) {
      console.log(clusterLog.join('\n'));
      if (stack) console.log(stack.output.slice(-200).join('\n'));
    }
    await stack?.close();
    await cluster?.stop();
  });

  it('a Temporal server, a worker and a gateway SIGKILLed mid-call: every call finishes, nothing twice, none stuck', async () => {
    const { client } = stack!;
    const calls = await Promise.all(
      PROVIDERS.flatMap((carrier) => [place(stack!, carrier, 'agent', 1), place(stack!, carrier, 'voicemail', 2)]),
    );
    await Promise.all(
      calls.map((c) =>
        eventually(
          `session ${c.workflowId}`,
          () =>
            client.workflow
              .getHandle(c.workflowId)
              .describe()
              .then(() => true),
          30_000,
          100,
        ),
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    // The crash of one machine: its Temporal server, a worker and a gateway at once.
    await Promise.all([cluster!.servers[0].kill(), stack!.workers[0].kill(), stack!.gateways[0].kill()]);

    await Promise.all(calls.map((c) => stack!.outcome(c.workflowId)));
    await Promise.all(
      calls.map((c) =>
        c.carrier === 'telnyx'
          ? stack!.telnyx.waitForEnd(c.callId)
          : c.carrier === 'signalwire'
            ? stack!.signalwire.waitForEnd(c.callId)
            : stack!.jambonz.waitForEnd(c.callId),
      ),
    );
    const logs = {} as Record<Provider, CarrierLogs>;
    for (const carrier of PROVIDERS) logs[carrier] = await fetchCarrierLogs(carrier, stack!.simulatorUrls[carrier]!);
    const running = await runningSessions(client);
    const verdicts = await Promise.all(
      calls.map(async (call) =>
        judgeCall(call, logs[call.carrier], await sessionFacts(client, call.workflowId), running),
      ),
    );
    expect(verdicts.filter((v) => v.lost || v.dropped || v.wrong || v.stuck || v.duplicates.length > 0)).toEqual([]);

    // The killed server comes back and takes requests again (through the balancer, which rechecks it).
    await cluster!.restartServer(0);
    const again = await place(stack!, 'telnyx', 'voicemail', 3);
    await stack!.outcome(again.workflowId);
  });
});
