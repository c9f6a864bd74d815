// Simulated callers dial this app's own flow: a real Temporal dev server, the worker with flows.ts, the gateway and
// the Telnyx simulator, each its own process.
const { after, before, test } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { startTestStack } = require('durable-calls/testing');

const root = path.join(__dirname, '..');
let stack;

before(async () => {
  stack = await startTestStack({
    flowsPath: path.join(root, 'flows.ts'),
    routingTablePath: path.join(root, 'routes.json'),
  });
});

after(async () => {
  await stack?.close();
});

test('pressing 1 hears the opening hours', async () => {
  const call = await stack.placeCall({ from: '+15557770001', to: '+15550003000', presses: ['1'] });
  const outcome = await stack.outcome(call.workflowId);
  assert.equal(outcome.flow, 'bakeryLine');
  assert.equal(outcome.flowResult, 'told the hours');
  assert.equal(outcome.digits, '1');
});

test('a caller who presses nothing is asked twice, then hears goodbye', async () => {
  const call = await stack.placeCall({ from: '+15557770002', to: '+15550003000', presses: [null, null] });
  const outcome = await stack.outcome(call.workflowId);
  assert.equal(outcome.flowResult, 'no choice');
});
