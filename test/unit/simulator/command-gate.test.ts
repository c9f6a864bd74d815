import { CommandGate } from '../../../src/simulator/command-gate';

describe('CommandGate fault share', () => {
  it('faults every command by default, each for its first `count` attempts', () => {
    const gate = new CommandGate<object>({ count: 2 });
    expect([gate.injectedFault('a'), gate.injectedFault('a'), gate.injectedFault('a')].map(Boolean)).toEqual([
      true,
      true,
      false,
    ]);
    expect(gate.injectedFault('b')).toBeDefined();
  });

  it('faults only the drawn share of commands, and decides once per command', () => {
    const draws = [0.1, 0.9, 0.3];
    const gate = new CommandGate<object>({ count: 1, share: 0.25 }, () => draws.shift() ?? 1);
    expect(gate.injectedFault('in-share')).toBeDefined(); // drew 0.1 < 0.25
    expect(gate.injectedFault('spared')).toBeUndefined(); // drew 0.9
    expect(gate.injectedFault('spared')).toBeUndefined(); // not drawn again
    expect(gate.injectedFault('also-spared')).toBeUndefined(); // drew 0.3
    expect(gate.injectedFault('in-share')).toBeUndefined(); // its one faulted attempt is spent
    expect(draws).toEqual([]);
  });
});
