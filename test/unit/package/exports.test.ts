import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as flowApi from '../../../src/flow';
import * as library from '../../../src/index';
import * as testing from '../../../src/testing';
// Type exports the README names: a name missing here fails the type check (`npm run lint`).
import type { CallSession, Flow, FlowContext } from '../../../src/index';
import type { Flow as FlowType, FlowContext as FlowContextType } from '../../../src/flow';
import type { CallerScript, TestStack } from '../../../src/testing';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const ENTRIES: Record<string, Record<string, unknown>> = {
  'durable-calls': library,
  'durable-calls/flow': flowApi,
  'durable-calls/testing': testing,
};
const TYPE_ONLY = new Set(['Flow', 'FlowContext', 'CallSession']);

/** `module` → names of the README's table "Your own flows": every backticked `name` or `name(…)` of a row. */
function readmeExports(): Map<string, string[]> {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Your own flows'), readme.indexOf('## Watch mode'));
  const rows = new Map<string, string[]>();
  for (const row of section.split('\n').filter((line) => line.startsWith('| `durable-calls'))) {
    const [, entry = '', names = ''] = /^\| `([^`]+)`: ([^|]+)\|/.exec(row) ?? [];
    const found = [...names.matchAll(/`([A-Za-z]+)[(`]/g)].map((m) => m[1] ?? '');
    rows.set(entry, [...(rows.get(entry) ?? []), ...found]);
  }
  return rows;
}

describe('the package entry points', () => {
  it('export every function and value the README lists', () => {
    const listed = readmeExports();
    expect([...listed.keys()].sort()).toEqual(Object.keys(ENTRIES).sort());
    for (const [entry, names] of listed) {
      for (const name of names.filter((n) => !TYPE_ONLY.has(n))) {
        expect({ entry, name, exported: name in (ENTRIES[entry] ?? {}) }).toEqual({ entry, name, exported: true });
      }
    }
  });

  it('package.json points at the compiled form of these files', () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
      main: string;
      exports: Record<string, { default: string; types: string } | string>;
    };
    expect(pkg.main).toBe('dist/src/index.js');
    for (const [subpath, target] of Object.entries(pkg.exports)) {
      if (typeof target === 'string') continue;
      const source = target.default.replace(/^\.\/dist\//, '').replace(/\.js$/, '.ts');
      expect({ subpath, source, exists: existsSync(path.join(ROOT, source)) }).toEqual({
        subpath,
        source,
        exists: true,
      });
      expect(target.types).toBe(target.default.replace(/\.js$/, '.d.ts'));
    }
  });

  it('the flow API is the same for a flows module and for the library', () => {
    const flow: Flow = async (call: CallSession, context: FlowContext) => `${call.ended} ${String(context.args.x)}`;
    const same: FlowType = flow;
    const context: FlowContextType = { args: {} };
    const script: CallerScript = { from: '+15550000001', to: '+15550000002' };
    const stack: Pick<TestStack, 'placeCall'> | undefined = undefined;
    expect([typeof same, context.args, script.to, stack]).toEqual(['function', {}, '+15550000002', undefined]);
    expect(flowApi.isCallEnded(new flowApi.CallEnded('normal'))).toBe(true);
  });
});
