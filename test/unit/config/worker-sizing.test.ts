import { ConfigError, loadConfig } from '../../../src/config';
import { cachedSessionsForHeap, workflowTaskSizing } from '../../../worker/sizing';

describe('worker sizing', () => {
  it('sizes the session cache from the heap unless WORKER_CACHED_SESSIONS says', () => {
    const byHeap = workflowTaskSizing(loadConfig({}).worker, 4144);
    // 1 MiB a session after 400 MiB for the worker: more than the SDK's 2,310 for the same heap.
    expect(byHeap.maxCachedWorkflows).toBe(3744);
    expect(cachedSessionsForHeap(256)).toBe(10);
    expect(workflowTaskSizing(loadConfig({ WORKER_CACHED_SESSIONS: '6000' }).worker, 4144).maxCachedWorkflows).toBe(
      6000,
    );
  });

  it('autoscales the workflow-task pollers up to WORKER_WORKFLOW_POLLERS, within the task slots', () => {
    const sizing = workflowTaskSizing(loadConfig({ WORKER_WORKFLOW_POLLERS: '3' }).worker, 4144);
    expect(sizing.workflowTaskPollerBehavior).toEqual({ type: 'autoscaling', minimum: 1, initial: 3, maximum: 3 });
    expect(sizing.maxConcurrentWorkflowTaskExecutions).toBe(10);
    expect(workflowTaskSizing(loadConfig({}).worker, 4144).workflowTaskPollerBehavior).toEqual({
      type: 'autoscaling',
      minimum: 1,
      initial: 5,
      maximum: 20,
    });
  });

  it.each([
    ['WORKER_CACHED_SESSIONS', '1'],
    ['WORKER_CACHED_SESSIONS', 'many'],
    ['WORKER_WORKFLOW_POLLERS', '1'],
    ['WORKER_WORKFLOW_POLLERS', '500'],
  ])('refuses %s=%s', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(name);
  });
});
