import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { request } from 'undici';
import { inboundCallWorkflowId } from '../../src/calls';
import { startPart, type ManagedProcess } from '../../src/dev/processes';
import { signatureHeader } from '../../src/simulator/jambonz/hooks';
import { eventually, freePorts } from '../support/net';
import { testServerAddress } from '../support/temporal-server';

/**
 * A SIGTERMed gateway process (alone, and as the primary of GATEWAY_PROCESSES=2) against the run's Temporal:
 * /readyz fails at once while a slow request is in flight, that request still gets its normal answer, and the
 * process exits 0. The slow request is a real one: a jambonz call hook whose session has no worker, which the
 * gateway holds for JAMBONZ_HOOK_WAIT_MS before it answers with holding verbs.
 */

const SECRET = 'wh_secret_gateway_drain';
const HOOK_WAIT_MS = 4000;
const DRAIN_MS = 1500;

describe('gateway: graceful SIGTERM', () => {
  let connection: Connection;
  let client: Client;
  const output: string[] = [];
  beforeAll(async () => {
    connection = await Connection.connect({ address: testServerAddress() });
    client = new Client({ connection });
  });
  afterAll(() => connection.close());
  afterEach(() => {
    if (expect.getState().assertionCalls !== expect.getState().numPassingAsserts) console.log(output.join('\n'));
    output.length = 0;
  });

  const readyz = async (baseUrl: string) => {
    const res = await request(`${baseUrl}/readyz`);
    return { at: Date.now(), status: res.statusCode, body: await res.body.json() };
  };

  it.each([1, 2])(
    'with GATEWAY_PROCESSES=%i: fails readiness first, finishes the request in flight, exits 0',
    async (processes) => {
      const [port] = await freePorts(1);
      const baseUrl = `http://127.0.0.1:${port}`;
      let gateway: ManagedProcess | undefined;
      try {
        gateway = await startPart('gateway', {
          label: `gateway-drain-${processes}`,
          log: (line) => output.push(line),
          env: {
            ...process.env,
            TEMPORAL_ADDRESS: testServerAddress(),
            // No worker polls this queue: the hook waits its full JAMBONZ_HOOK_WAIT_MS.
            TEMPORAL_TASK_QUEUE: `gateway-drain-${randomUUID()}`,
            PORT: String(port),
            HOST: '127.0.0.1',
            PUBLIC_BASE_URL: baseUrl,
            TELNYX_API_KEY: '',
            TELNYX_PUBLIC_KEY: '',
            SIGNALWIRE_SIGNING_KEY: '',
            JAMBONZ_WEBHOOK_SECRET: SECRET,
            JAMBONZ_HOOK_WAIT_MS: String(HOOK_WAIT_MS),
            GATEWAY_DRAIN_MS: String(DRAIN_MS),
            GATEWAY_PROCESSES: String(processes),
            LOG_LEVEL: 'warn',
          },
        });
        expect(
          await eventually('ready', async () => {
            const r = await readyz(baseUrl);
            if (r.status !== 200) throw new Error(`readyz ${r.status}`);
            // The first answer may not know yet: the probe it starts is never awaited.
            if ((r.body as { temporal?: string }).temporal === 'unknown') throw new Error('Temporal not probed yet');
            return r.body;
          }),
        ).toEqual({ status: 'ready', temporal: 'up' });

        const callSid = randomUUID();
        const raw = JSON.stringify({
          call_sid: callSid,
          direction: 'inbound',
          from: '+15557779101',
          to: '+15550001000',
          call_id: `${callSid}@10.0.1.5`,
          sip_status: 100,
          sip_reason: 'Trying',
          call_status: 'trying',
          account_sid: '9351f46a-678c-43f5-b8a6-d4eb58d131af',
        });
        const sentAt = Date.now();
        const inFlight = request(`${baseUrl}/webhooks/jambonz?hook=call`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'jambonz-signature': signatureHeader(SECRET, raw) },
          body: raw,
        }).then(async (res) => ({
          at: Date.now(),
          status: res.statusCode,
          headers: res.headers,
          body: await res.body.json(),
        }));
        // The hook is being served once its session exists (update-with-start): now the deploy begins.
        const workflowId = inboundCallWorkflowId('jambonz', callSid);
        await eventually('session started', () => client.workflow.getHandle(workflowId).describe());
        gateway.child.kill('SIGTERM');

        const draining = await eventually('readyz fails', async () => {
          const r = await readyz(baseUrl);
          if (r.status !== 503) throw new Error(`readyz ${r.status}`);
          return r;
        });
        expect(draining.body).toEqual({ status: 'draining' });

        const answered = await inFlight;
        expect(answered.status).toBe(200);
        // Its normal answer with no worker: holding verbs that bring jambonz back for the flow's next steps.
        expect((answered.body as Array<{ verb: string }>).map((v) => v.verb)).toEqual(['pause', 'redirect']);
        expect(draining.at).toBeLessThan(answered.at);
        expect(answered.at - sentAt).toBeGreaterThanOrEqual(HOOK_WAIT_MS - 500);
        // Its connection closes with it, so the process need not wait out a keep-alive timeout to exit.
        expect(answered.headers.connection).toBe('close');

        expect(await gateway.exited).toBe(0);
        await expect(request(`${baseUrl}/healthz`)).rejects.toThrow();
        await client.workflow.getHandle(workflowId).terminate('test done');
      } finally {
        await gateway?.kill();
      }
    },
  );
});
