import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { KeyObject } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { startDevServer } from '../src/dev/dev-server';
import { freePort } from '../src/dev/ports';
import { resolveTemporalCli } from '../src/dev/temporal-cli';
import { startTemporalCluster, TEMPORAL_SERVER_VERSION } from '../src/dev/temporal-cluster';
import { ROOT, type CaptureCarrier } from './support';
import type { BenchRow } from './table';

/**
 * The Temporal engines the benchmark compares, each started fresh in a directory of its own and stopped after
 * its systems ran: `dev` is the CLI's dev server on a SQLite file (`npm start`), `cluster` the production shape
 * of `npm run cluster` (two Temporal server processes on PostgreSQL behind a TCP balancer).
 */

export const ENGINES = ['dev', 'cluster'] as const;
export type EngineName = (typeof ENGINES)[number];

export interface Engine {
  name: EngineName;
  /** host:port that clients and workers connect to. */
  address: string;
  /** One line for the report: what runs the engine. */
  description: string;
  /** The engine's processes whose CPU the table reports, by name (each with its children, e.g. PostgreSQL's backends). */
  processes: Record<string, number>;
  stop(): Promise<void>;
}

/** What a measurement gets on each engine while it runs (see `EngineBench`). */
export interface EngineRun {
  engine: Engine;
  /** Connected to the engine. */
  client: Client;
  /** The stand-in Telnyx API that every command of the run goes to. */
  carrier: CaptureCarrier;
  /** Environment for the service's parts: the Telnyx settings that point at `carrier` and check `signingKey`. */
  carrierEnv: Record<string, string>;
  /** Signs webhooks as the carrier's account (see `webhookSender`). */
  signingKey: KeyObject;
  /** The session workflows, bundled once for every worker of the run. */
  sessionBundlePath: string;
  /** A fresh directory for the measurement's files. */
  dir: string;
  log: (line: string) => void;
  /** Where the started processes' output goes (shown when the run fails). */
  childLog: (line: string) => void;
}

/** A measurement that runs on each engine and adds rows to the table (bench/latency.ts lists them). */
export type EngineBench = (run: EngineRun) => Promise<BenchRow[]>;

/** The cluster's Temporal servers take fixed ports from here (20 each): apart from `npm run cluster` (17200) and the failover test (17600). */
const CLUSTER_PORT_BASE = 17800;

export async function startEngine(name: EngineName, dir: string, log: (line: string) => void): Promise<Engine> {
  const cli = await resolveTemporalCli({ log, projectRoot: ROOT });
  if (name === 'dev') {
    const server = await startDevServer({
      port: await freePort(),
      uiPort: 'headless',
      dbFile: path.join(dir, 'temporal.sqlite'),
      log,
      binary: cli,
    });
    const version = execFileSync(server.binary, ['--version'], { encoding: 'utf8' }).trim();
    return {
      name,
      address: server.address,
      description: `dev server: ${version}, SQLite file (WAL)`,
      processes: { temporal: server.pid },
      stop: () => server.stop(),
    };
  }
  const cluster = await startTemporalCluster({ dir, servers: 2, portBase: CLUSTER_PORT_BASE, log, cli });
  const postgresData = path.join(dir, 'postgres', 'data');
  const postmaster = Number(readFileSync(path.join(postgresData, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const balancer = haproxyPid(dir);
  return {
    name,
    address: cluster.address,
    description:
      `cluster: ${cluster.servers.length} × Temporal Server ${TEMPORAL_SERVER_VERSION} on PostgreSQL ` +
      `${readFileSync(path.join(postgresData, 'PG_VERSION'), 'utf8').trim()}, ` +
      `behind ${balancer ? 'HAProxy (tcp)' : 'a Node TCP balancer (in the bench process)'}`,
    processes: {
      ...Object.fromEntries(cluster.servers.map((server) => [server.name, server.child.pid!])),
      postgres: postmaster,
      ...(balancer ? { balancer } : {}),
    },
    stop: () => cluster.stop(),
  };
}

/** The HAProxy in front of the cluster's frontends, found by its config file (balancer.ts writes it into `dir`). */
function haproxyPid(dir: string): number | undefined {
  const config = path.join(dir, 'haproxy-temporal.cfg');
  if (!existsSync(config)) return undefined;
  const pid = readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .find((entry) => {
      try {
        return readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').includes(config);
      } catch {
        return false;
      }
    });
  return pid ? Number(pid) : undefined;
}
