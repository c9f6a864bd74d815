import { InvalidArgumentError } from 'commander';
import { callListQuery } from '../../../src/gateway/calls-api';
import { agentChange } from '../../../src/cli/queues';
import { fields, keyValue, table } from '../../../src/cli/output';

describe('CLI helpers', () => {
  it('aligns tables and key/value lines, showing missing cells as -', () => {
    expect(
      table(
        ['ID', 'STATUS'],
        [
          ['call:a', 'ended'],
          ['call:long-id', undefined],
        ],
      ),
    ).toBe(['ID            STATUS', 'call:a        ended', 'call:long-id  -'].join('\n'));
    expect(
      fields([
        ['workflowId', 'call:a'],
        ['to', '+1555'],
        ['endedAt', undefined],
      ]),
    ).toBe('workflowId  call:a\nto          +1555');
  });

  it('collects repeated key=value options and refuses a value without =', () => {
    const collect = keyValue(Number);
    expect(collect('b=2', collect('a=1'))).toEqual({ a: 1, b: 2 });
    expect(() => collect('novalue')).toThrow(InvalidArgumentError);
  });

  it('turns the agent options into exactly one change of the agents route', () => {
    expect(agentChange('a1', { signIn: '+15550002001', skill: { en: 5 } })).toEqual({
      op: 'sign-in',
      agentId: 'a1',
      address: '+15550002001',
      skills: { en: 5 },
    });
    expect(agentChange('a1', { signOut: true })).toEqual({ op: 'sign-out', agentId: 'a1' });
    expect(agentChange('a1', { state: 'break', reason: 'lunch' })).toMatchObject({ op: 'set-state', state: 'break' });
    expect(agentChange('a1', { skill: { fr: 1 } })).toEqual({ op: 'set-skills', agentId: 'a1', skills: { fr: 1 } });
    expect(agentChange('a1', {})).toMatch(/say what to change/);
    expect(agentChange('a1', { signOut: true, state: 'available' })).toMatch(/choose one/);
  });
});

describe('GET /calls visibility query', () => {
  it('lists call sessions only, running by default, filtered by carrier and queue', () => {
    expect(callListQuery({})).toBe(`WorkflowType = 'callSessionWorkflow' AND ExecutionStatus = 'Running'`);
    expect(callListQuery({ status: 'closed', provider: 'telnyx', queue: 'support' })).toBe(
      `WorkflowType = 'callSessionWorkflow' AND ExecutionStatus != 'Running' AND CallProvider = 'telnyx' AND CallQueue = 'support'`,
    );
    expect(callListQuery({ status: 'all' })).toBe(`WorkflowType = 'callSessionWorkflow'`);
  });
});
