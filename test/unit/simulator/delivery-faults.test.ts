import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DeliveryFaults, seededRandom, type DeliveryFaultOptions } from '../../../src/simulator/delivery-faults';
import { HookClient } from '../../../src/simulator/jambonz/hooks';
import { Deliveries, type StatusCallbackBody } from '../../../src/simulator/signalwire/delivery';
import { buildWebhook, loadOrCreateSigningKey, WebhookDispatcher } from '../../../src/simulator/telnyx/webhooks';

/**
 * The delivery faults of item 6 on each simulator's delivery layer (Telnyx webhooks, SignalWire status
 * callbacks and SWML fetches, jambonz hooks): reordering, no retries, lost deliveries. Seeded, so the random
 * choices repeat; each test also shows the fault-free baseline, so the fault is what made the difference.
 */

interface Receiver {
  url: string;
  /** The `seq` of every request, in arrival order. */
  arrivals: number[];
  /** How many requests arrived in all. */
  count(): number;
  close(): Promise<void>;
}

/** A stand-in for our gateway that answers every request with `status` and notes each body's `seq`. */
async function startReceiver(status = 200): Promise<Receiver> {
  const arrivals: number[] = [];
  let count = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      count++;
      const text = Buffer.concat(chunks).toString('utf8');
      const seq = /"seq":(\d+)/.exec(text)?.[1];
      if (seq !== undefined) arrivals.push(Number(seq));
      res.statusCode = status;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    arrivals,
    count: () => count,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const inOrder = (seqs: number[]) => seqs.every((seq, i) => i === 0 || seqs[i - 1] < seq);
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

const LEG = {
  callControlId: 'v3:leg',
  callLegId: 'leg-1',
  callSessionId: 'session-1',
  connectionId: 'conn',
  from: '+15550001000',
  to: '+15550009999',
};

function telnyx(faults: DeliveryFaultOptions) {
  return new WebhookDispatcher({
    signingKey: loadOrCreateSigningKey().privateKey,
    delayMs: [0, 0],
    duplicate: false,
    faults: new DeliveryFaults(faults),
    log: () => undefined,
  });
}

function signalwire(faults: DeliveryFaultOptions) {
  return new Deliveries({
    signingKey: 'PSK-test',
    delayMs: [0, 0],
    duplicate: false,
    faults: new DeliveryFaults(faults),
    log: () => undefined,
  });
}

function callState(seq: number, state: string): StatusCallbackBody {
  return {
    event_type: 'calling.call.state',
    event_channel: 'c',
    timestamp: seq,
    project_id: 'p',
    space_id: 's',
    params: { seq, call_state: state },
  };
}

function jambonz(faults: DeliveryFaultOptions) {
  return new HookClient({
    secret: 'secret',
    timeoutMs: 2_000,
    delayMs: [0, 0],
    duplicateStatusHooks: false,
    faults: new DeliveryFaults(faults),
    log: () => undefined,
  });
}

describe('seeded fault choices', () => {
  it('repeat for the same seed', () => {
    const a = seededRandom(7);
    const b = seededRandom(7);
    const draws = range(5).map(() => a());
    expect(range(5).map(() => b())).toEqual(draws);
    expect(draws.every((x) => x >= 0 && x < 1)).toBe(true);
  });
});

describe('Telnyx webhooks', () => {
  let receiver: Receiver;
  afterEach(async () => receiver.close());

  it('in a lane they arrive in order; with reorderWebhooks they overtake each other, and say so', async () => {
    receiver = await startReceiver();
    for (const reorder of [false, true]) {
      receiver.arrivals.length = 0;
      const dispatcher = telnyx({ reorderWebhooks: reorder, reorderDelayMs: [0, 200], faultSeed: 1 });
      for (const seq of range(15))
        dispatcher.send('leg-1', () => receiver.url, buildWebhook('call.dtmf.received', LEG, { seq }));
      await dispatcher.idle('leg-1');
      expect(inOrder(receiver.arrivals)).toBe(!reorder);
      expect(receiver.arrivals.slice().sort((x, y) => x - y)).toEqual(range(15));
      const records = dispatcher.list();
      expect(records.every((r) => r.status === 'delivered' && r.reordered === reorder)).toBe(true);
      await dispatcher.close();
    }
  });

  it('noRetry: a webhook answered 503 is given up after one attempt (retried without it)', async () => {
    receiver = await startReceiver(503);
    const retrying = telnyx({});
    retrying.send('leg-1', () => receiver.url, buildWebhook('call.hangup', LEG));
    await sleep(500);
    expect(retrying.list()[0].attempts).toBeGreaterThan(1);
    await retrying.close();

    const dispatcher = telnyx({ noRetry: true });
    dispatcher.send('leg-1', () => receiver.url, buildWebhook('call.hangup', LEG));
    await dispatcher.idle('leg-1');
    const [record] = dispatcher.list();
    expect(record).toMatchObject({ status: 'failed', attempts: 1, notRetried: true, lastStatusCode: 503 });
    await dispatcher.close();
  });

  it('dropWebhooks: webhooks of the named kinds are lost with the probability, others all arrive', async () => {
    receiver = await startReceiver();
    const dispatcher = telnyx({ dropWebhooks: { kinds: ['call.hangup'], probability: 0.5 }, faultSeed: 3 });
    for (const seq of range(20)) {
      dispatcher.send(`leg-${seq}`, () => receiver.url, buildWebhook('call.answered', LEG, { seq }));
      dispatcher.send(`leg-${seq}`, () => receiver.url, buildWebhook('call.hangup', LEG, { seq: 100 + seq }));
    }
    await Promise.all(range(20).map((seq) => dispatcher.idle(`leg-${seq}`)));
    const records = dispatcher.list();
    const dropped = records.filter((r) => r.dropped);
    expect(dropped.length).toBeGreaterThan(0);
    expect(dropped.length).toBeLessThan(20);
    expect(dropped.every((r) => r.eventType === 'call.hangup' && r.status === 'failed' && r.attempts === 0)).toBe(true);
    expect(receiver.count()).toBe(40 - dropped.length);
    expect(records.filter((r) => r.eventType === 'call.answered').every((r) => r.status === 'delivered')).toBe(true);
    await dispatcher.close();
  });
});

describe('SignalWire deliveries', () => {
  let receiver: Receiver;
  afterEach(async () => receiver.close());

  it('reorderWebhooks: a call’s status callbacks overtake each other', async () => {
    receiver = await startReceiver();
    const deliveries = signalwire({ reorderWebhooks: true, reorderDelayMs: [0, 200], faultSeed: 1 });
    for (const seq of range(15)) deliveries.sendCallback('call-1', receiver.url, callState(seq, 'answered'));
    await deliveries.idle('call-1');
    expect(receiver.arrivals.slice().sort((x, y) => x - y)).toEqual(range(15));
    expect(inOrder(receiver.arrivals)).toBe(false);
    expect(deliveries.list().every((r) => r.reordered && r.status === 'delivered')).toBe(true);
    await deliveries.close();
  });

  it('noRetry: a status callback and a SWML fetch answered 500 get one attempt each', async () => {
    receiver = await startReceiver(500);
    const retrying = signalwire({});
    expect((await retrying.fetchDocument('call-1', receiver.url, 'POST', {})).ok).toBe(false);
    expect(retrying.list()[0].attempts).toBe(4);
    await retrying.close();

    const deliveries = signalwire({ noRetry: true });
    deliveries.sendCallback('call-1', receiver.url, callState(0, 'ended'));
    await deliveries.idle('call-1');
    expect((await deliveries.fetchDocument('call-1', receiver.url, 'POST', {})).ok).toBe(false);
    const [callback, fetch] = deliveries.list();
    expect(callback).toMatchObject({ kind: 'status-callback', status: 'failed', attempts: 1, notRetried: true });
    expect(fetch).toMatchObject({ kind: 'swml-fetch', status: 'failed', attempts: 1, notRetried: true });
    await deliveries.close();
  });

  it('dropWebhooks by state: every `ended` callback is lost, the others arrive', async () => {
    receiver = await startReceiver();
    const deliveries = signalwire({ dropWebhooks: { kinds: ['calling.call.state:ended'], probability: 1 } });
    deliveries.sendCallback('call-1', receiver.url, callState(0, 'answered'));
    deliveries.sendCallback('call-1', receiver.url, callState(1, 'ended'));
    await deliveries.idle('call-1');
    expect(receiver.arrivals).toEqual([0]);
    expect(deliveries.list().map((r) => r.dropped ?? false)).toEqual([false, true]);
    await deliveries.close();
  });
});

describe('jambonz hooks', () => {
  let receiver: Receiver;
  afterEach(async () => receiver.close());

  const target = (url: string) => ({ url, method: 'POST' as const });

  it('reorderWebhooks: call:status hooks are held back independently and overtake each other', async () => {
    receiver = await startReceiver();
    const hooks = jambonz({ reorderWebhooks: true, reorderDelayMs: [0, 200], faultSeed: 1 });
    for (const seq of range(15)) hooks.notify(target(receiver.url), { seq, call_status: 'ringing' }, 'sid-1');
    await hooks.idle('sid-1');
    expect(receiver.arrivals.slice().sort((x, y) => x - y)).toEqual(range(15));
    expect(inOrder(receiver.arrivals)).toBe(false);
    expect(hooks.list().every((d) => d.reordered && d.status === 'answered')).toBe(true);
    await hooks.close();
  });

  it('noRetry: a hook whose URL asks for retries (#rc=3&rp=all) is tried once', async () => {
    receiver = await startReceiver(503);
    const retrying = jambonz({});
    await expect(retrying.request('verb:hook', target(`${receiver.url}#rc=1&rp=all`), {}, 'sid-1')).rejects.toThrow();
    expect(retrying.list()[0].attempts).toBe(2);
    await retrying.close();

    const hooks = jambonz({ noRetry: true });
    await expect(hooks.request('verb:hook', target(`${receiver.url}#rc=3&rp=all`), {}, 'sid-1')).rejects.toThrow();
    expect(hooks.list()[0]).toMatchObject({ status: 'failed', attempts: 1, notRetried: true });
    await hooks.close();
  });

  it('dropWebhooks: a completed call:status is lost, the others arrive', async () => {
    receiver = await startReceiver();
    const hooks = jambonz({ dropWebhooks: { kinds: ['call:status:completed'], probability: 1 } });
    hooks.notify(target(receiver.url), { seq: 0, call_status: 'in-progress' }, 'sid-1');
    hooks.notify(target(receiver.url), { seq: 1, call_status: 'completed' }, 'sid-1');
    await hooks.idle('sid-1');
    expect(receiver.arrivals).toEqual([0]);
    expect(hooks.list().map((d) => d.dropped ?? false)).toEqual([false, true]);
    await hooks.close();
  });
});
