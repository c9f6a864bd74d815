import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createGatewayMetrics } from '../../../src/gateway/metrics';

/**
 * deploy/grafana-dashboard.json queries what the gateway exports: every `durable_calls_*` series a panel names is
 * one the gateway's registry has (a renamed metric would leave a panel silently empty), with a label it has.
 */

const ROOT = path.resolve(__dirname, '..', '..', '..');
interface Panel {
  type: string;
  title: string;
  targets?: Array<{ expr: string }>;
}
const dashboard = JSON.parse(readFileSync(path.join(ROOT, 'deploy', 'grafana-dashboard.json'), 'utf8')) as {
  panels: Panel[];
  templating: { list: Array<{ name: string }> };
};
const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));

describe('grafana dashboard', () => {
  it('has panels with queries, on a Prometheus data source the user picks', () => {
    expect(exprs.length).toBeGreaterThan(10);
    expect(dashboard.templating.list.map((v) => v.name)).toEqual(
      expect.arrayContaining(['datasource', 'gateway_job', 'worker_job']),
    );
  });

  it('names only gateway metrics and labels the gateway exports', async () => {
    // Each metric of the gateway, with the labels it declares.
    const exported = new Map(
      Object.values(createGatewayMetrics({ processMetrics: false }))
        .filter((m): m is { name: string; labelNames: string[] } => typeof m === 'object' && 'labelNames' in m)
        .map((m) => [m.name, new Set(['le', 'job', 'instance', ...m.labelNames])]),
    );
    expect(exported.size).toBe(7);
    const used = exprs.flatMap(({ panel, expr }) =>
      [...expr.matchAll(/(durable_calls_[a-z_]+?)(_bucket|_count|_sum)?\{([^}]*)\}/g)].map((m) => ({
        panel,
        metric: m[1],
        labels: [...m[3].matchAll(/([a-z_]+)\s*=~?/g)].map((l) => l[1]),
        grouping: [...expr.matchAll(/by \(([^)]*)\)/g)].flatMap((g) => g[1].split(',').map((s) => s.trim())),
      })),
    );
    expect(used.length).toBeGreaterThan(5);
    for (const { panel, metric, labels, grouping } of used) {
      expect({ panel, metric, known: exported.has(metric) }).toEqual({ panel, metric, known: true });
      for (const label of [...labels, ...grouping]) {
        expect({ panel, metric, label, known: exported.get(metric)?.has(label) }).toEqual({
          panel,
          metric,
          label,
          known: true,
        });
      }
    }
  });
});
