import cluster, { type Worker } from 'node:cluster';
import { Client, Connection } from '@temporalio/client';
import { FLOW_NAMES } from '../calls';
import { loadConfig, temporalConnectionOptions, type Config } from '../config';
import { buildGateway, startDraining } from './app';

/**
 * The gateway process. It connects to Temporal lazily, so it starts (and answers 503 to webhooks, which
 * carriers retry) even while Temporal is still coming up.
 *
 * `GATEWAY_PROCESSES=n` (n > 1): this process is the cluster primary and forks n workers that share the port
 * (node's cluster module hands each connection to one of them), each building its own app. A worker that dies
 * on its own is replaced; SIGTERM to the primary drains them all.
 */
function main(): Promise<void> {
  const config = loadConfig();
  if (config.gateway.processes > 1 && cluster.isPrimary) return primary(config);
  return serve(config);
}

async function serve(config: Config): Promise<void> {
  const connection = Connection.lazy(temporalConnectionOptions(config.temporal));
  const client = new Client({ connection, namespace: config.temporal.namespace });
  const app = await buildGateway({
    config,
    client,
    connection,
    flows: [...FLOW_NAMES],
  });
  const url = await app.listen({ port: config.gateway.port, host: config.gateway.host });
  // A cluster worker reports to the primary, which prints the one ready line once every worker listens.
  if (cluster.isWorker) process.send?.({ event: 'gateway-worker-ready', url, pid: process.pid });
  else console.log(JSON.stringify({ event: 'gateway-ready', url, pid: process.pid }));

  let closing = false;
  const drainThenClose = async (drainMs: number) => {
    if (closing) return;
    closing = true;
    // Readiness fails at once; serving goes on for drainMs (the balancer's check interval × fall count), so the
    // balancer has stopped sending here before the listener closes and nothing it sends is refused.
    startDraining(app);
    app.log.info({ drainMs }, 'draining: /readyz answers 503');
    await new Promise((resolve) => setTimeout(resolve, drainMs));
    // Stops accepting, waits for the requests in flight (a document fetch waiting on its session included).
    await app.close();
    await connection.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void drainThenClose(config.gateway.drainMs));
  // Ctrl-C is someone at a terminal, not a balancer: finish what is in flight but do not wait out the drain.
  process.once('SIGINT', () => void drainThenClose(0));
}

async function primary(config: Config): Promise<void> {
  const count = config.gateway.processes;
  let stopping = false;
  const ready = new Set<number>();
  // Counted here rather than read from cluster.workers, which drops a worker on exit or disconnect, in either order.
  const alive = new Map<number, Worker>();
  const fork = () => {
    const worker = cluster.fork();
    alive.set(worker.id, worker);
    worker.on('message', (message: { event?: string; url?: string }) => {
      if (message.event !== 'gateway-worker-ready' || stopping || ready.has(worker.id)) return;
      ready.add(worker.id);
      if (ready.size === count) {
        console.log(JSON.stringify({ event: 'gateway-ready', url: message.url, pid: process.pid, processes: count }));
      }
    });
  };
  cluster.on('exit', (worker, code, signal) => {
    alive.delete(worker.id);
    if (stopping) {
      if (alive.size === 0) process.exit(0);
      return;
    }
    console.error(`gateway worker ${worker.process.pid} exited (${signal ?? code}); starting another`);
    fork();
  });
  for (let i = 0; i < count; i++) fork();

  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    // Each worker drains on its own (readiness fails, in-flight requests finish); the primary waits for all.
    if (alive.size === 0) process.exit(0);
    for (const worker of alive.values()) worker.process.kill(signal);
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((err) => {
  console.error('gateway failed:', err);
  process.exit(1);
});
