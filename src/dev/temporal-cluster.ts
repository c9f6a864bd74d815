import { spawn, spawnSync, type ChildProcess, type SpawnSyncOptions } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { stringify } from 'yaml';
import { CALL_SEARCH_ATTRIBUTES } from '../calls/search-attributes';
import { PROJECT_ROOT as ROOT } from '../config';
import { startBalancer, type Balancer } from './balancer';
import { freePort } from './ports';

/**
 * The production engine on one machine: Temporal server processes (every service in each, ringpop membership
 * between them) on a project-local PostgreSQL cluster, behind a TCP balancer. `npm run cluster` starts it with
 * the rest of the service; the failover test kills one server under calls.
 *
 * Built from the Go module proxy, not downloaded as a release: the same version as the CLI's dev server
 * (`temporal --version` says "Server 1.32.0") and the compose file's image, so the two engines differ only in
 * their store and topology.
 */

export const TEMPORAL_SERVER_VERSION = '1.32.0';
/** v1.32's go.mod needs Go >= 1.26.10; the Go module proxy serves this toolchain, so any local Go can build it. */
const GO_TOOLCHAIN = 'go1.27.3';
const TOOLS_DIR = path.join(ROOT, '.tools', `temporal-server-${TEMPORAL_SERVER_VERSION}`);
/** Fixed for a cluster's lifetime: history shards are where workflows live; 4 is plenty for one machine. */
const HISTORY_SHARDS = Number(process.env.TEMPORAL_HISTORY_SHARDS ?? 4);
const DB_USER = 'temporal';
const DB_PASSWORD = 'temporal';

export interface TemporalServerBinaries {
  server: string;
  sqlTool: string;
  /** `schema/postgresql/v12` of the server's module source. */
  schemaDir: string;
}

type Log = (line: string) => void;

function run(command: string, args: string[], options: SpawnSyncOptions = {}): string {
  const result = spawnSync(command, args, { encoding: 'utf8', ...options });
  if (result.status !== 0) {
    const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim().split('\n').slice(-15).join('\n');
    throw new Error(`${command} ${args.join(' ')} failed (${result.status ?? result.signal}):\n${output}`);
  }
  return String(result.stdout ?? '');
}

/** `temporal-server` and `temporal-sql-tool` in .tools/, built once with `go install` (about 6 min on 2 cores). */
export function ensureTemporalServer(log: Log): TemporalServerBinaries {
  const env = { ...process.env, GOTOOLCHAIN: GO_TOOLCHAIN, GOBIN: TOOLS_DIR };
  const server = path.join(TOOLS_DIR, 'server');
  const sqlTool = path.join(TOOLS_DIR, 'sql');
  if (!existsSync(server) || !existsSync(sqlTool)) {
    if (spawnSync('go', ['version']).status !== 0)
      throw new Error('building the Temporal server needs Go (any version: the build fetches its own toolchain)');
    log(`building Temporal server ${TEMPORAL_SERVER_VERSION} from the Go module proxy (once, a few minutes)...`);
    const started = Date.now();
    run(
      'go',
      [
        'install',
        ...['cmd/server', 'cmd/tools/sql'].map((cmd) => `go.temporal.io/server/${cmd}@v${TEMPORAL_SERVER_VERSION}`),
      ],
      { env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    log(`built Temporal server in ${((Date.now() - started) / 1000).toFixed(0)} s: ${TOOLS_DIR}`);
  }
  const modCache = run('go', ['env', 'GOMODCACHE'], { env }).trim();
  const schemaDir = path.join(modCache, `go.temporal.io/server@v${TEMPORAL_SERVER_VERSION}`, 'schema/postgresql/v12');
  if (!existsSync(schemaDir))
    run('go', ['mod', 'download', `go.temporal.io/server@v${TEMPORAL_SERVER_VERSION}`], { env });
  return { server, sqlTool, schemaDir };
}

// --- PostgreSQL --------------------------------------------------------------------------------------------------

export interface Postgres {
  port: number;
  stop(): Promise<void>;
}

function postgresBin(): string {
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base) ? readdirSync(base).sort((a, b) => Number(b) - Number(a)) : [];
  const found = versions.map((v) => path.join(base, v, 'bin')).find((dir) => existsSync(path.join(dir, 'initdb')));
  if (found) return found;
  if (process.getuid?.() === 0) {
    run('apt-get', ['update', '-qq']);
    run('apt-get', ['install', '-y', '-qq', 'postgresql'], {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    return postgresBin();
  }
  throw new Error("PostgreSQL's server binaries are missing: install Debian's `postgresql` package");
}

/**
 * A project-local PostgreSQL cluster in `dir`, on loopback only. PostgreSQL refuses to run as root, so as root
 * its commands run as Debian's `postgres` user, which owns the data directory.
 */
export async function startPostgres(dir: string, log: Log): Promise<Postgres> {
  const bin = postgresBin();
  const asRoot = process.getuid?.() === 0;
  const owner = asRoot ? Number(run('id', ['-u', 'postgres']).trim()) : undefined;
  const ownerGroup = asRoot ? Number(run('id', ['-g', 'postgres']).trim()) : undefined;
  const pg = (tool: string, args: string[]) =>
    asRoot ? run('runuser', ['-u', 'postgres', '--', path.join(bin, tool), ...args]) : run(path.join(bin, tool), args);
  const dataDir = path.join(dir, 'data');
  mkdirSync(dir, { recursive: true });
  if (asRoot) chownSync(dir, owner!, ownerGroup!);
  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) {
    log('PostgreSQL: creating a cluster in ' + path.relative(ROOT, dataDir));
    // Trust on loopback: a local development cluster, listening on 127.0.0.1 and a socket in its own directory.
    pg('initdb', ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8']);
  }
  // A run that was killed leaves its server up on this directory: stop it, or it would refuse to start.
  if (existsSync(path.join(dataDir, 'postmaster.pid'))) {
    try {
      pg('pg_ctl', ['-D', dataDir, '-m', 'immediate', '-w', 'stop']);
    } catch {
      // a stale pid file of a server that is gone already: pg_ctl start handles it
    }
  }
  const port = await freePort();
  pg('pg_ctl', [
    '-D',
    dataDir,
    '-l',
    path.join(dir, 'postgres.log'),
    '-o',
    `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c max_connections=200`,
    '-w',
    'start',
  ]);
  const psql = (sql: string) => pg('psql', ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-tAc', sql]);
  if (psql(`SELECT 1 FROM pg_roles WHERE rolname = '${DB_USER}'`).trim() !== '1')
    psql(`CREATE ROLE ${DB_USER} LOGIN CREATEDB PASSWORD '${DB_PASSWORD}'`);
  log(`PostgreSQL ready on 127.0.0.1:${port}`);
  return {
    port,
    async stop() {
      pg('pg_ctl', ['-D', dataDir, '-m', 'fast', '-w', 'stop']);
    },
  };
}

/** Creates (or brings up to date) Temporal's two databases with the SQL tool and the server's own schema files. */
export function setupSchemas(binaries: TemporalServerBinaries, postgresPort: number, log: Log): void {
  for (const [database, schema] of [
    ['temporal', 'temporal'],
    ['temporal_visibility', 'visibility'],
  ] as const) {
    const sql = (...args: string[]) =>
      run(binaries.sqlTool, [
        '--plugin',
        'postgres12',
        '--ep',
        '127.0.0.1',
        '-p',
        String(postgresPort),
        '-u',
        DB_USER,
        '--pw',
        DB_PASSWORD,
        '--db',
        database,
        ...args,
      ]);
    sql('create-database');
    // setup-schema -v 0.0 only creates the version table; update-schema then applies every versioned step.
    sql('setup-schema', '-v', '0.0');
    sql('update-schema', '-d', path.join(binaries.schemaDir, schema, 'versioned'));
    log(`schema ${database}: up to date`);
  }
}

// --- Temporal server processes ---------------------------------------------------------------------------------

export interface TemporalServerProcess {
  name: string;
  frontendPort: number;
  child: ChildProcess;
  /** SIGKILL: what a crashed host looks like. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

interface ServerPorts {
  frontend: number;
  frontendHttp: number;
  history: number;
  matching: number;
  worker: number;
  membership: [number, number, number, number];
  metrics: number;
}

/**
 * Fixed ports from `base`, 20 per server: ringpop keeps membership ports in a SMALLINT column, so they must stay
 * below 32768 (the OS's ephemeral ports do not).
 */
function serverPorts(base: number, index: number): ServerPorts {
  const at = base + index * 20;
  return {
    frontend: at,
    frontendHttp: at + 1,
    history: at + 2,
    matching: at + 3,
    worker: at + 4,
    membership: [at + 5, at + 6, at + 7, at + 8],
    metrics: at + 9,
  };
}

function serverConfig(ports: ServerPorts, postgresPort: number, dynamicConfigFile: string, seedFrontend: number) {
  const store = (databaseName: string, maxConns: number) => ({
    sql: {
      pluginName: 'postgres12',
      databaseName,
      connectAddr: `127.0.0.1:${postgresPort}`,
      connectProtocol: 'tcp',
      user: DB_USER,
      password: DB_PASSWORD,
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
    },
  });
  const service = (grpcPort: number, membershipPort: number, extra: Record<string, unknown> = {}) => ({
    rpc: { grpcPort, membershipPort, bindOnLocalHost: true, ...extra },
  });
  return {
    log: { stdout: true, level: 'warn' },
    persistence: {
      defaultStore: 'postgres-default',
      visibilityStore: 'postgres-visibility',
      numHistoryShards: HISTORY_SHARDS,
      datastores: {
        'postgres-default': store('temporal', 20),
        'postgres-visibility': store('temporal_visibility', 10),
      },
    },
    global: {
      membership: { maxJoinDuration: '30s', broadcastAddress: '127.0.0.1' },
      metrics: {
        prometheus: { framework: 'tally', timerType: 'histogram', listenAddress: `127.0.0.1:${ports.metrics}` },
      },
    },
    services: {
      frontend: service(ports.frontend, ports.membership[0], { httpPort: ports.frontendHttp }),
      history: service(ports.history, ports.membership[1]),
      matching: service(ports.matching, ports.membership[2]),
      worker: service(ports.worker, ports.membership[3]),
    },
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: {
        active: {
          enabled: true,
          initialFailoverVersion: 1,
          rpcName: 'frontend',
          rpcAddress: `127.0.0.1:${seedFrontend}`,
        },
      },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    dynamicConfigClient: { filepath: dynamicConfigFile, pollInterval: '10s' },
  };
}

/** Whether something listens on the loopback port. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function waitForPort(port: number, child: ChildProcess, timeoutMs: number, logFile: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`Temporal server exited (${child.exitCode}): ${readFileSync(logFile, 'utf8').slice(-2000)}`);
    if (await accepts(port)) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`Temporal server did not open 127.0.0.1:${port} within ${timeoutMs} ms (log: ${logFile})`);
}

async function startServerProcess(
  name: string,
  dir: string,
  binaries: TemporalServerBinaries,
  config: object,
  frontendPort: number,
): Promise<TemporalServerProcess> {
  const configDir = path.join(dir, name);
  mkdirSync(configDir, { recursive: true });
  const configFile = path.join(configDir, 'config.yaml');
  writeFileSync(configFile, stringify(config));
  const logFile = path.join(configDir, 'server.log');
  const out = openSync(logFile, 'a');
  const child = spawn(binaries.server, ['--config-file', configFile, '--allow-no-auth', 'start'], {
    stdio: ['ignore', out, out],
  });
  await waitForPort(frontendPort, child, 60_000, logFile);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    name,
    frontendPort,
    child,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

export interface TemporalCluster {
  /** host:port of the balancer in front of every frontend: what clients and workers connect to. */
  address: string;
  servers: TemporalServerProcess[];
  postgres: Postgres;
  /** Starts server `index` again after a kill (same ports, same config). */
  restartServer(index: number): Promise<TemporalServerProcess>;
  stop(): Promise<void>;
}

export interface TemporalClusterOptions {
  dir: string;
  servers?: number;
  log: Log;
  /** Temporal CLI binary, for the namespace and search attributes. */
  cli: string;
  /** First of the servers' fixed ports (20 each; below 32768). Default 17200. */
  portBase?: number;
}

/** PostgreSQL, schemas, `servers` server processes (default 2) and a TCP balancer, ready to take workflows. */
export async function startTemporalCluster(options: TemporalClusterOptions): Promise<TemporalCluster> {
  const { dir, log } = options;
  mkdirSync(dir, { recursive: true });
  const pids = leftoverProcesses(dir);
  const binaries = ensureTemporalServer(log);
  const postgres = await startPostgres(path.join(dir, 'postgres'), log);
  setupSchemas(binaries, postgres.port, log);
  const dynamicConfig = path.join(ROOT, 'deploy', 'temporal-dynamicconfig.yaml');
  const count = options.servers ?? 2;
  const ports = Array.from({ length: count }, (_, i) => serverPorts(options.portBase ?? 17200, i));
  const configs = ports.map((p) => serverConfig(p, postgres.port, dynamicConfig, ports[0].frontend));
  const servers: TemporalServerProcess[] = [];
  for (const [i, p] of ports.entries()) {
    servers.push(await startServerProcess(`temporal-${i + 1}`, dir, binaries, configs[i], p.frontend));
    pids.add(servers[i].child.pid);
    log(`Temporal server temporal-${i + 1}: frontend 127.0.0.1:${p.frontend}`);
  }
  const balancerPort = await freePort();
  const balancer: Balancer = await startBalancer({
    dir,
    port: balancerPort,
    backends: ports.map((p) => p.frontend),
    mode: 'tcp',
    name: 'temporal',
    onSpawn: (pid) => pids.add(pid),
  });
  const address = `127.0.0.1:${balancerPort}`;
  await registerNamespace(options.cli, address, log);
  return {
    address,
    servers,
    postgres,
    async restartServer(index) {
      servers[index] = await startServerProcess(
        `temporal-${index + 1}`,
        dir,
        binaries,
        configs[index],
        ports[index].frontend,
      );
      pids.add(servers[index].child.pid);
      return servers[index];
    },
    async stop() {
      await balancer.stop();
      for (const server of servers) await server.stop();
      await postgres.stop();
      pids.clear();
    },
  };
}

/**
 * The servers and balancer of a run that was killed outlive it and hold the fixed ports: kill them (their pids
 * are in `dir/pids.json`). Returns the set this run records its own into.
 */
function leftoverProcesses(dir: string): { add(pid: number | undefined): void; clear(): void } {
  const file = path.join(dir, 'pids.json');
  const stale: number[] = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as number[]) : [];
  for (const pid of stale) {
    // Only if the pid is still one of ours (pids are reused).
    const commandLine = existsSync(`/proc/${pid}/cmdline`) ? readFileSync(`/proc/${pid}/cmdline`, 'utf8') : '';
    if (commandLine.includes(dir) || commandLine.includes(TOOLS_DIR)) process.kill(pid, 'SIGKILL');
  }
  const live = new Set<number>();
  const save = () => writeFileSync(file, JSON.stringify([...live]));
  save();
  return {
    add(pid) {
      if (pid === undefined) return;
      live.add(pid);
      save();
    },
    clear() {
      live.clear();
      save();
    },
  };
}

/** The `default` namespace and the call search attributes (src/calls/search-attributes.ts), once. */
async function registerNamespace(cli: string, address: string, log: Log): Promise<void> {
  const temporal = (...args: string[]) => spawnSync(cli, [...args, '--address', address], { encoding: 'utf8' });
  if (temporal('operator', 'namespace', 'describe', '--namespace', 'default').status !== 0) {
    const create = temporal('operator', 'namespace', 'create', '--namespace', 'default', '--retention', '72h');
    if (create.status !== 0 && !/already/i.test(create.stderr)) throw new Error(`namespace default: ${create.stderr}`);
  }
  // A new namespace reaches every frontend's cache within seconds; until then it "is not found".
  const deadline = Date.now() + 60_000;
  let existing = temporal('operator', 'search-attribute', 'list', '--namespace', 'default');
  while (existing.status !== 0) {
    if (Date.now() > deadline) throw new Error(`namespace default not usable: ${existing.stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    existing = temporal('operator', 'search-attribute', 'list', '--namespace', 'default');
  }
  for (const { name, type } of CALL_SEARCH_ATTRIBUTES) {
    if (new RegExp(`\\b${name}\\b`).test(existing.stdout)) continue;
    const created = temporal(
      'operator',
      'search-attribute',
      'create',
      '--name',
      name,
      '--type',
      type,
      '--namespace',
      'default',
    );
    if (created.status !== 0) throw new Error(`search attribute ${name}: ${created.stderr}`);
  }
  log('namespace default and the call search attributes registered');
}
