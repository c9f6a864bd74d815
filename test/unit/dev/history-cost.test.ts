import { readFileSync } from 'node:fs';
import path from 'node:path';
import { formatReactionCosts, reactionCosts, type HistoryEventJson } from '../../../src/dev/history-cost';

/** The history cut into reactions, on histories recorded from real calls (test/fixtures/histories). */
const FIXTURES = path.resolve(__dirname, '../../fixtures/histories');
const fixture = (name: string) =>
  JSON.parse(readFileSync(path.join(FIXTURES, `callSessionWorkflow-${name}.json`), 'utf8')) as {
    events: HistoryEventJson[];
  };

describe('reactionCosts', () => {
  it('cuts a Telnyx call at its signals and names each by the carrier event', () => {
    const costs = reactionCosts(fixture('telnyx-pressed-2-voicemail-saved-watchdog'));
    expect(costs[0]).toEqual({ trigger: 'start', events: ['Started'] });
    expect(costs.map((r) => r.trigger)).toContain('signal callEvent(gather.ended)');
    expect(costs.map((r) => r.trigger)).toContain('timer');
    // Every event is in exactly one reaction.
    expect(costs.reduce((sum, r) => sum + r.events.length, 0)).toBe(
      fixture('telnyx-pressed-2-voicemail-saved-watchdog').events.length,
    );
    // The prompt over → record_start reaction: the floor's shape, nothing more.
    const recordStart = costs.filter((r) => r.trigger === 'signal callEvent(speak.ended)').at(-1)!;
    expect(recordStart.events).toEqual([
      'Signaled',
      'WorkflowTaskScheduled',
      'WorkflowTaskStarted',
      'WorkflowTaskCompleted',
      'ActivityTaskScheduled',
      'ActivityTaskStarted',
      'ActivityTaskCompleted',
      'WorkflowTaskScheduled',
      'WorkflowTaskStarted',
      'WorkflowTaskCompleted',
    ]);
  });

  it('shows what a timer per operation cost before the watchdog: a cancel and a start in every reaction', () => {
    const recordStart = reactionCosts(fixture('telnyx-pressed-2-voicemail-saved'))
      .filter((r) => r.trigger === 'signal callEvent(speak.ended)')
      .at(-1)!;
    expect(recordStart.events).toHaveLength(12);
    expect(recordStart.events.filter((type) => type.startsWith('Timer'))).toEqual(['TimerCanceled', 'TimerStarted']);
  });

  it('gives an update the workflow task that accepted it (document carriers)', () => {
    const costs = reactionCosts(fixture('jambonz-pressed-2-voicemail-saved-watchdog'));
    const updates = costs.filter((r) => r.trigger === 'update nextDocument');
    expect(updates.length).toBeGreaterThan(2);
    for (const update of updates.slice(1)) {
      expect(update.events).toEqual(expect.arrayContaining(['UpdateAccepted', 'UpdateCompleted']));
      if (update.events[0] !== 'UpdateAccepted') expect(update.events[0]).toBe('WorkflowTaskScheduled');
    }
    expect(formatReactionCosts(costs)).toMatch(/^ {3}\d {2}update nextDocument: WorkflowTaskScheduled /m);
  });
});
