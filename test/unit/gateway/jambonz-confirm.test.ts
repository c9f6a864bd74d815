import { randomUUID } from 'node:crypto';
import { confirmHookUrl } from '../../../src/providers/jambonz';
import { signatureHeader } from '../../../src/simulator/jambonz/hooks';
import { validateVerbDocument } from '../providers/jambonz/verb-spec';
import { buildTestGateway, type TestGateway } from './helper';

/**
 * A dial's confirmHook (the whisper) through `app.inject` on the real gateway whose Temporal does not answer:
 * the gateway says the text its signed URL carries without asking the session, and refuses a URL whose text
 * was changed.
 */

const BASE = 'https://gw.example.com';
const SECRET = 'jambonz-webhook-secret';

let gateway: TestGateway;
beforeAll(async () => {
  gateway = await buildTestGateway({ JAMBONZ_WEBHOOK_SECRET: SECRET, PUBLIC_BASE_URL: BASE });
});
afterAll(() => gateway.app.close());

const workflowId = `call:jambonz:${randomUUID()}`;
const whisper = 'Call from the support queue.';
const agentLeg = JSON.stringify({
  call_sid: randomUUID(),
  direction: 'outbound',
  from: '+15550001200',
  to: '+15550003101',
  call_id: `${randomUUID()}@10.0.1.5`,
  sip_status: 200,
  call_status: 'in-progress',
  account_sid: '9351f46a-678c-43f5-b8a6-d4eb58d131af',
});
const postConfirm = (url: string) => {
  const parsed = new URL(url);
  return gateway.app.inject({
    method: 'POST',
    url: parsed.pathname + parsed.search,
    headers: { 'content-type': 'application/json', 'jambonz-signature': signatureHeader(SECRET, agentLeg) },
    payload: agentLeg,
  });
};

it('answers a confirmHook with a say of the text its signed URL carries, without Temporal', async () => {
  const res = await postConfirm(confirmHookUrl(BASE, SECRET, workflowId, `${workflowId}#7`, whisper));
  expect(res.statusCode).toBe(200);
  expect(res.json()).toEqual([{ verb: 'say', text: whisper }]);
  expect(() => validateVerbDocument(res.json())).not.toThrow();
  expect(gateway.temporalCalls).toEqual([]);
});

it('refuses a confirmHook whose text was changed, or that was signed by another secret, with 401', async () => {
  const forged = new URL(confirmHookUrl(BASE, SECRET, workflowId, `${workflowId}#7`, whisper));
  forged.searchParams.set('say', 'Something we never said.');
  for (const url of [
    forged.toString(),
    confirmHookUrl(BASE, 'another-secret', workflowId, `${workflowId}#7`, whisper),
  ]) {
    const res = await postConfirm(url);
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ error: 'invalid hook token' });
  }
});
