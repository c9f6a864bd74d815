import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { request } from 'undici';
import { queueWorkflowId, type QueueView } from '../../src/calls';
import type { CallerScript } from '../../src/simulator/telnyx/types';
import { eventually } from '../support/net';
import { PROJECT_ROOT, startTestStack, type TestStack } from '../support/stack';

/**
 * The wallboard in a real browser: Debian's chromium driven by playwright-core (scripts/ensure-chromium.sh
 * installs it). Three callers wait in a queue whose two agents are on break; the page shows them, then updates
 * without a reload when an agent becomes available and takes the first caller.
 * `WALLBOARD_SCREENSHOT=docs/wallboard.png` saves the README's screenshot.
 */

const CHROMIUM = '/usr/bin/chromium';
/** Each test run has a Temporal server of its own, and no other test uses this queue. */
const QUEUE = 'sales';
const NUMBER = '+15550001300';
const READ_KEY = 'wallboard-reader-key-0001';
const OPERATOR_KEY = 'wallboard-operator-key-01';
const AGENTS = { alice: '+15550003101', bob: '+15550003102' };
const CALLERS = ['+15557770201', '+15557770202', '+15557770203'];

/** What the test reads in the page (functions passed to it run there; the project's types have no DOM). */
interface InPage {
  document: { querySelector(selector: string): { textContent: string | null } | null };
  wallboardMark?: string;
}

describe('wallboard', () => {
  let stack: TestStack;
  let browser: Browser | undefined;
  const sessions: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`${CHROMIUM} is missing: run scripts/ensure-chromium.sh (installs Debian's chromium)`);
    }
    const dir = mkdtempSync(path.join(tmpdir(), 'wallboard-'));
    writeFileSync(path.join(dir, 'queues.json'), JSON.stringify({ [QUEUE]: { agentRingTimeoutSeconds: 10 } }));
    writeFileSync(
      path.join(dir, 'routes.json'),
      JSON.stringify({
        default: { flow: 'defaultIvr', args: { agentNumber: '+15550002000' } },
        numbers: { [NUMBER]: { flow: 'supportQueue', args: { queue: QUEUE } } },
      }),
    );
    stack = await startTestStack({
      env: {
        API_KEYS: `${READ_KEY}:read,${OPERATOR_KEY}:read+calls`,
        QUEUES_PATH: path.join(dir, 'queues.json'),
        ROUTING_TABLE_PATH: path.join(dir, 'routes.json'),
        // Agents answer and stay on the call past the test.
        SIMULATOR_AGENTS: JSON.stringify({
          [AGENTS.alice]: { behaviour: 'answer', hangupAfterMs: 600_000 },
          [AGENTS.bob]: { behaviour: 'answer', hangupAfterMs: 600_000 },
        }),
      },
    });
  });
  afterAll(async () => {
    await browser?.close();
    for (const workflowId of [...sessions, queueWorkflowId(QUEUE)]) {
      await stack?.client.workflow
        .getHandle(workflowId)
        .terminate('test over')
        .catch(() => undefined);
    }
    await stack?.close();
  });
  afterEach(() => {
    if (expect.getState().assertionCalls !== expect.getState().numPassingAsserts) console.log(stack.output.join('\n'));
  });

  const api = async (method: 'GET' | 'POST', url: string, options: { key?: string; body?: unknown } = {}) => {
    const res = await request(`${stack.gatewayUrl}${url}`, {
      method,
      headers: {
        ...(options.key ? { authorization: `Bearer ${options.key}` } : {}),
        ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
    const contentType = String(res.headers['content-type'] ?? '');
    const first = contentType.startsWith('text/event-stream')
      ? await new Promise<string>((resolve) => res.body.once('data', (chunk: Buffer) => resolve(chunk.toString())))
      : await res.body.text();
    res.body.destroy();
    return { status: res.statusCode, contentType, text: first };
  };
  const changeAgent = async (change: Record<string, unknown>) =>
    expect((await api('POST', `/queues/${QUEUE}/agents`, { key: OPERATOR_KEY, body: change })).status).toBe(200);
  const queueState = async () =>
    JSON.parse((await api('GET', `/queues/${QUEUE}`, { key: READ_KEY })).text) as QueueView;

  /** Waits until the page's element at `selector` reads `text` (the page updates itself; nothing reloads). */
  const shows = (page: Page, selector: string, text: string | RegExp) =>
    page
      .waitForFunction(
        ([sel, pattern]) =>
          new RegExp(pattern).test((globalThis as unknown as InPage).document.querySelector(sel)?.textContent ?? ''),
        [selector, typeof text === 'string' ? `^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$` : text.source],
        { timeout: 15_000 },
      )
      .catch(async (err: Error) => {
        const actual = await page
          .locator(selector)
          .first()
          .textContent({ timeout: 100 })
          .catch(() => '(absent)');
        throw new Error(
          `the wallboard's ${selector} never read ${String(text)} (it reads "${actual}"): ${err.message}`,
        );
      });

  it('needs a read key: in a header, or as ?key= on its own routes only', async () => {
    expect((await api('GET', '/wallboard/events')).status).toBe(401);
    expect((await api('GET', '/wallboard')).status).toBe(401);
    expect((await api('GET', '/wallboard/events?key=not-a-key-of-this-gateway')).status).toBe(401);
    // A key in the URL counts for the wallboard alone.
    expect((await api('GET', `/queues?key=${READ_KEY}`)).status).toBe(401);
    const page = await api('GET', `/wallboard?key=${READ_KEY}`);
    expect(page).toMatchObject({ status: 200, contentType: expect.stringMatching(/^text\/html/) });
    const events = await api('GET', '/wallboard/events', { key: READ_KEY });
    expect(events).toMatchObject({ status: 200, contentType: expect.stringMatching(/^text\/event-stream/) });
    expect(events.text).toMatch(/^retry: \d+\n\n/);
  });

  it('shows live calls and the queue, and follows changes without a reload', async () => {
    await changeAgent({ op: 'sign-in', agentId: 'alice', address: AGENTS.alice });
    await changeAgent({ op: 'sign-in', agentId: 'bob', address: AGENTS.bob });
    await changeAgent({ op: 'set-state', agentId: 'alice', state: 'break', reason: 'coffee' });
    await changeAgent({ op: 'set-state', agentId: 'bob', state: 'break', reason: 'coffee' });
    for (const from of CALLERS) {
      const call = await stack.telnyx.placeCall({ from, to: NUMBER } as CallerScript);
      sessions.push(call.workflowId);
    }
    await eventually('three callers in line', async () => (await queueState()).waiting?.length === 3);

    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'], headless: true });
    const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    await page.goto(`${stack.gatewayUrl}/wallboard?key=${READ_KEY}`);
    const card = `[data-queue="${QUEUE}"]`;
    await shows(page, '#connection', 'live');
    await shows(page, `${card} [data-field="waiting"]`, '3');
    await shows(page, `${card} [data-agent-state="break"] b`, '2');
    await shows(page, `${card} [data-field="longest-wait"]`, /^\d+:\d\d$/);
    for (const workflowId of sessions) await shows(page, `tr[data-call="${workflowId}"] .call-queue`, QUEUE);
    const rows = await page.locator('#calls tr[data-call]').allTextContents();
    for (const from of CALLERS) expect(rows.some((row) => row.includes(from))).toBe(true);

    // A mark on this document: if the page reloaded, it is gone.
    await page.evaluate(() => Object.assign(globalThis, { wallboardMark: 'same page' }));
    await changeAgent({ op: 'set-state', agentId: 'alice', state: 'available' });
    await shows(page, `${card} [data-field="waiting"]`, '2');
    await shows(page, `${card} [data-agent-state="break"] b`, '1');
    await shows(page, `${card} [data-agent-state="busy"] b`, '1');
    expect(await page.evaluate(() => (globalThis as unknown as InPage).wallboardMark)).toBe('same page');

    const screenshot = process.env.WALLBOARD_SCREENSHOT;
    if (screenshot) {
      const file = path.resolve(PROJECT_ROOT, screenshot);
      mkdirSync(path.dirname(file), { recursive: true });
      await page.screenshot({ path: file });
    }
  }, 60_000);
});
