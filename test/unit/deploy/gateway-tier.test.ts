import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

/**
 * The shipped gateway tier hangs together: compose runs HAProxy with deploy/haproxy.cfg as the only published
 * gateway port, two or more gateways behind it, and the cfg names those gateways and checks their readiness.
 * (`haproxy -c -f deploy/haproxy.cfg` checks the cfg's syntax; the README says how.)
 */

const ROOT = path.resolve(__dirname, '..', '..', '..');
interface Service {
  image?: string;
  command?: string[];
  ports?: string[];
  volumes?: string[];
  environment?: Record<string, string | null>;
  depends_on?: string[] | Record<string, unknown>;
  stop_grace_period?: string;
  deploy?: { replicas?: number };
}
const compose = parse(readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
};
const cfg = readFileSync(path.join(ROOT, 'deploy', 'haproxy.cfg'), 'utf8');
const directives = cfg
  .split('\n')
  .map((line) => line.replace(/#.*/, '').trim())
  .filter(Boolean);

const gateways = Object.entries(compose.services).filter(([, s]) => s.command?.includes('dist/src/gateway/main.js'));

describe('docker-compose.yml', () => {
  it('runs at least two gateways, none publishing a port, each given time to drain', () => {
    const replicas = gateways.reduce((n, [, s]) => n + (s.deploy?.replicas ?? 1), 0);
    expect(replicas).toBeGreaterThanOrEqual(2);
    for (const [, service] of gateways) {
      expect(service.ports).toBeUndefined();
      expect(service.environment).toHaveProperty('API_KEYS');
      expect(parseInt(service.stop_grace_period ?? '10', 10)).toBeGreaterThan(5 + 8);
    }
  });

  it('publishes the gateway port through an haproxy service with the shipped cfg', () => {
    const haproxy = compose.services.haproxy;
    expect(haproxy.image).toBe('haproxy:2.8');
    expect(haproxy.ports).toEqual(['3000:3000']);
    expect(haproxy.volumes).toContain('./deploy/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro');
    expect(directives).toContain('bind :3000');
  });

  it('points the cfg at the gateway services by name', () => {
    const servers = directives.filter((d) => d.startsWith('server '));
    expect(servers.length).toBeGreaterThanOrEqual(2);
    const names = gateways.map(([name]) => name).sort();
    // Each server line reads its address from a variable the cfg presets and compose sets to a service name.
    const variables = servers.map((s) => /"\$\{(\w+)\}"/.exec(s)?.[1]);
    const preset = Object.fromEntries(
      directives.filter((d) => d.startsWith('presetenv ')).map((d) => d.split(/\s+/).slice(1, 3)),
    ) as Record<string, string>;
    const fromCompose = compose.services.haproxy.environment ?? {};
    for (const variable of variables) {
      expect(variable).toBeDefined();
      for (const address of [preset[variable!], fromCompose[variable!]]) {
        const [host, port] = String(address).split(':');
        expect(names).toContain(host);
        expect(port).toBe('3000');
      }
    }
    expect(new Set(variables.map((v) => fromCompose[v!])).size).toBe(names.length);
  });
});

describe('deploy/haproxy.cfg', () => {
  it('balances on readiness and retries a failed request on another gateway', () => {
    expect(directives).toContain('option httpchk GET /readyz');
    // Not on 503: every gateway shares the Temporal that did not take the event.
    expect(directives).toContain('retry-on conn-failure empty-response response-timeout');
    expect(directives.some((d) => /^option redispatch\b/.test(d))).toBe(true);
    expect(directives).toContain('retries 3');
  });

  it('never answers 503 itself while a gateway listens: every checked gateway has an unchecked backup twin', () => {
    const servers = directives.filter((d) => d.startsWith('server ')).map((d) => d.split(/\s+/));
    const checked = servers.filter((s) => s.includes('check'));
    const backups = servers.filter((s) => s.includes('backup'));
    expect(checked.length).toBeGreaterThanOrEqual(2);
    expect(backups.map((s) => s[2]).sort()).toEqual(checked.map((s) => s[2]).sort());
    for (const backup of backups) expect(backup).not.toContain('check');
    expect(directives).toContain('option allbackups');
  });

  it('gives up on a gateway well before a carrier gives up on the webhook (jambonz: 10 s)', () => {
    const timeout = (name: string) => {
      const value = directives.find((d) => d.startsWith(`timeout ${name} `))?.split(/\s+/)[2] ?? '';
      const match = /^(\d+)(ms|s)$/.exec(value);
      expect(match).not.toBeNull();
      return Number(match![1]) * (match![2] === 's' ? 1000 : 1);
    };
    expect(timeout('connect') + timeout('server')).toBeLessThan(10_000);
    // Long enough for a gateway's longest hold of a document fetch (7 s at most).
    expect(timeout('server')).toBeGreaterThan(7000);
  });
});
