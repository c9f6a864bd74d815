import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { Service } from 'kubernetes-models/v1/Service';
import { parse, parseAllDocuments } from 'yaml';
import { checkQueues, loadConfig, loadRoutingTable } from '../../../src/config';

/**
 * deploy/k8s: every manifest passes the Kubernetes API schema of its kind (kubernetes-models: validators generated
 * from Kubernetes' OpenAPI; they check types, required fields and formats, not unknown fields), and the manifests
 * fit together and fit the service: selectors, ports, ConfigMap keys, timings.
 */

const K8S = path.resolve(__dirname, '..', '..', '..', 'deploy', 'k8s');
const MODELS = { Deployment, Service, PodDisruptionBudget, ConfigMap, PersistentVolumeClaim, Ingress };
type Manifest = { kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> } };

/** Validates one manifest against its kind's schema; throws with the schema's complaint. */
function validate(manifest: Manifest): void {
  const Model = MODELS[manifest.kind as keyof typeof MODELS];
  if (!Model) throw new Error(`${manifest.kind} ${manifest.metadata?.name}: no schema for this kind in the test`);
  new Model(manifest as never).validate();
}

const files = readdirSync(K8S).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
const manifests = files.flatMap((file) =>
  parseAllDocuments(readFileSync(path.join(K8S, file), 'utf8')).map((doc) => ({ file, ...(doc.toJS() as Manifest) })),
);
const kustomization = parse(readFileSync(path.join(K8S, 'kustomization.yaml'), 'utf8')) as { resources: string[] };
const named = <T>(kind: string, name: string) =>
  manifests.find((m) => m.kind === kind && m.metadata.name === name) as unknown as T;
const gateway = named<Deployment>('Deployment', 'durable-calls-gateway');
const worker = named<Deployment>('Deployment', 'durable-calls-worker');
const settings = named<ConfigMap>('ConfigMap', 'durable-calls-settings');

describe('deploy/k8s manifests', () => {
  it.each(manifests.map((m) => [`${m.file}: ${m.kind} ${m.metadata.name}`, m]))('%s passes its schema', (_, m) => {
    expect(() => validate(m)).not.toThrow();
    // Namespace-agnostic: the overlay or `kubectl -n` places them.
    expect(m.metadata.namespace).toBeUndefined();
  });

  it('fails a broken manifest (the validator is not a no-op)', () => {
    const broken = structuredClone(gateway) as unknown as Manifest & { spec: Record<string, unknown> };
    broken.spec.replicas = 'two';
    expect(() => validate(broken)).toThrow(/replicas must be integer/);
    const noSelector = structuredClone(gateway) as unknown as Manifest & { spec: Record<string, unknown> };
    delete noSelector.spec.selector;
    expect(() => validate(noSelector)).toThrow(/must have required property selector/);
    const badPort = structuredClone(gateway);
    badPort.spec!.template.spec!.containers[0].ports = [{ containerPort: 'http' as never }];
    expect(() => validate(badPort as unknown as Manifest)).toThrow(/containerPort must be integer/);
  });

  it('lists every manifest but the ingress example in kustomization.yaml', () => {
    expect([...kustomization.resources].sort()).toEqual(files.filter((f) => f !== 'ingress-example.yaml').sort());
  });

  it('selects the pods of each Deployment with its Service and PodDisruptionBudget', () => {
    for (const deployment of [gateway, worker]) {
      const podLabels = deployment.spec!.template.metadata!.labels!;
      expect(podLabels).toMatchObject(deployment.spec!.selector.matchLabels!);
      const pdb = named<PodDisruptionBudget>('PodDisruptionBudget', deployment.metadata!.name!);
      expect(podLabels).toMatchObject(pdb.spec!.selector!.matchLabels!);
      expect(pdb.spec!.minAvailable).toBeLessThan(deployment.spec!.replicas!);
    }
    const service = named<Service>('Service', 'durable-calls-gateway');
    expect(gateway.spec!.template.metadata!.labels).toMatchObject(service.spec!.selector!);
    expect(gateway.spec!.template.spec!.containers[0].ports).toContainEqual({
      name: service.spec!.ports![0].targetPort,
      containerPort: loadConfig({}).gateway.port,
    });
    expect(gateway.spec!.replicas).toBeGreaterThanOrEqual(2);
  });

  it('probes the gateway on readiness and liveness, and lets it drain before it is killed', () => {
    const container = gateway.spec!.template.spec!.containers[0];
    expect(container.readinessProbe!.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(container.livenessProbe!.httpGet).toEqual({ path: '/healthz', port: 'http' });
    const drainMs = loadConfig({ ...settings.data }).gateway.drainMs;
    // Readiness notices the drain well inside it; after it, a held document fetch (7 s at most) still finishes.
    const probe = container.readinessProbe!;
    expect(probe.periodSeconds! * probe.failureThreshold! * 1000).toBeLessThan(drainMs);
    expect(gateway.spec!.template.spec!.terminationGracePeriodSeconds! * 1000).toBeGreaterThan(drainMs + 8000);
  });

  it('probes the worker on its metrics endpoint and gives it its SIGTERM grace time', () => {
    const container = worker.spec!.template.spec!.containers[0];
    const metrics = container.env!.find((e) => e.name === 'WORKER_METRICS_ADDRESS')!.value!;
    const port = Number(metrics.split(':')[1]);
    expect(container.ports).toContainEqual({ name: 'metrics', containerPort: port });
    expect(container.readinessProbe!.exec!.command!.join(' ')).toContain(`http://127.0.0.1:${port}/metrics`);
    expect(container.livenessProbe!.httpGet).toEqual({ path: '/metrics', port: 'metrics' });
    // worker/main.ts: shutdownGraceTime 10 s for running activities.
    expect(worker.spec!.template.spec!.terminationGracePeriodSeconds).toBeGreaterThan(10 + 5);
  });

  it('gives both the routing table and queues the service can load, and commits no Secret', () => {
    const config = named<ConfigMap>('ConfigMap', 'durable-calls-config');
    const dir = mkdtempSync(path.join(tmpdir(), 'k8s-config-'));
    writeFileSync(path.join(dir, 'routes.json'), config.data!['routes.json']);
    expect(loadRoutingTable(path.join(dir, 'routes.json')).default.flow).toBeTruthy();
    expect(Object.keys(checkQueues(JSON.parse(config.data!['queues.json']), 'queues.json')).length).toBeGreaterThan(0);
    // Both Deployments mount it where the image looks (ROUTING_TABLE_PATH, QUEUES_PATH in the Dockerfile).
    for (const deployment of [gateway, worker]) {
      const pod = deployment.spec!.template.spec!;
      const volume = pod.volumes!.find((v) => v.configMap?.name === config.metadata!.name)!;
      expect(pod.containers[0].volumeMounts).toContainEqual({
        name: volume.name,
        mountPath: '/app/config',
        readOnly: true,
      });
      expect(pod.containers[0].envFrom).toContainEqual({ secretRef: { name: 'durable-calls-secrets' } });
    }
    expect(manifests.map((m) => m.kind)).not.toContain('Secret');
    // The settings are ones loadConfig accepts as they are.
    expect(() => loadConfig({ ...settings.data })).not.toThrow();
  });
});
