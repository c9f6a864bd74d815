import { readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv from 'ajv';
import { parse } from 'yaml';

/**
 * docker-compose.yml passes the Compose Specification's JSON schema (the copy the linter dclint ships), and holds the
 * deployment together: Temporal's images at one version with a schema job instead of auto-setup, health checks the
 * app services wait on, the recordings volume and the mounted routing table.
 */

const ROOT = path.resolve(__dirname, '..', '..', '..');
const SCHEMA = path.join(path.dirname(require.resolve('dclint/package.json')), 'schemas', 'compose.schema.json');
// Its `$schema` names draft-07 by a URL Ajv does not know; Ajv's default dialect is draft-07.
const composeSchema = JSON.parse(readFileSync(SCHEMA, 'utf8')) as Record<string, unknown>;
delete composeSchema.$schema;
const validateCompose = new Ajv({ strict: false, allErrors: true }).compile(composeSchema);

interface Service {
  image?: string;
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string | number | null>;
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
}
// Compose reads the file with YAML merge keys (`<<: *app`), as this parse does.
const composeText = readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8');
const compose = parse(composeText, { merge: true }) as { services: Record<string, Service>; volumes: object };
const services = compose.services;
const running = (script: string) => Object.values(services).filter((s) => s.command?.includes(script));
const errorsOf = (document: unknown) => (validateCompose(document) ? [] : validateCompose.errors);

describe('docker-compose.yml', () => {
  it('passes the Compose Specification schema, which refuses a broken file', () => {
    expect(errorsOf(compose)).toEqual([]);
    const broken = parse(composeText, { merge: true }) as { services: Record<string, Record<string, unknown>> };
    broken.services.worker.stop_grace_period = { seconds: 30 };
    broken.services.temporal.healthchek = services.temporal.healthcheck;
    expect(errorsOf(broken)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ instancePath: '/services/worker/stop_grace_period' }),
        expect.objectContaining({ params: { additionalProperty: 'healthchek' } }),
      ]),
    );
  });

  it("runs Temporal's server and admin-tools at one version, migrating the schema in a job (no auto-setup)", () => {
    const images = Object.values(services).map((s) => s.image ?? '');
    expect(images.filter((i) => i.includes('auto-setup'))).toEqual([]);
    const version = services.temporal.image!.split(':')[1];
    expect(services.temporal.image).toBe(`temporalio/server:${version}`);
    for (const job of ['temporal-schema', 'temporal-setup']) {
      expect(services[job].image).toBe(`temporalio/admin-tools:${version}`);
    }
    expect(services.temporal.depends_on).toEqual({
      'temporal-schema': { condition: 'service_completed_successfully' },
    });
    expect(services['temporal-schema'].volumes).toContain('./deploy/temporal-schema.sh:/temporal-schema.sh:ro');
    const script = readFileSync(path.join(ROOT, 'deploy', 'temporal-schema.sh'), 'utf8');
    for (const step of ['create-database', 'setup-schema -v 0.0', 'update-schema --schema-name "$schema"']) {
      expect(script).toContain(`temporal-sql-tool --db "$db" ${step}`);
    }
    expect(script).toContain('temporal:postgresql/v12/temporal temporal_visibility:postgresql/v12/visibility');
  });

  it('starts the gateways and the worker once the namespace exists, and checks their health', () => {
    const app = [...running('dist/src/gateway/main.js'), ...running('dist/worker/main.js')];
    expect(app).toHaveLength(3);
    for (const service of app) {
      expect(service.depends_on).toEqual({ 'temporal-setup': { condition: 'service_completed_successfully' } });
      expect(service.volumes).toContain('./config:/app/config:ro');
      expect(service.healthcheck?.test.join(' ')).toMatch(/fetch\('http:\/\/127\.0\.0\.1:\d+\/(readyz|metrics)'\)/);
    }
    const [worker] = running('dist/worker/main.js');
    const metricsPort = String(worker.environment?.WORKER_METRICS_ADDRESS).split(':')[1];
    expect(worker.healthcheck?.test.join(' ')).toContain(`http://127.0.0.1:${metricsPort}/metrics`);
  });

  it('gives the gateways one recordings volume, where the image writes recordings', () => {
    const dockerfile = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
    const recordingsDir = /RECORDINGS_DIR=(\S+)/.exec(dockerfile)![1];
    expect(dockerfile).toContain(`chown -R node:node ${path.dirname(recordingsDir)}`);
    for (const gateway of running('dist/src/gateway/main.js')) {
      expect(gateway.volumes).toContain(`recordings:${recordingsDir}`);
    }
    expect(compose.volumes).toHaveProperty('recordings');
    // Routes are mounted, not baked in.
    expect(dockerfile).not.toMatch(/^COPY config/m);
  });
});
