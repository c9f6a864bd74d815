import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

/**
 * Local load balancers for the multi-process stacks (`npm run cluster`, `npm run chaos`): HAProxy from Debian's
 * package when it is on PATH (what deploy/haproxy.cfg runs in production), else a small Node TCP round-robin.
 */

export interface Balancer {
  kind: string;
  stop(): Promise<void>;
}

export interface BalancerOptions {
  /** Where the generated haproxy.cfg goes. */
  dir: string;
  port: number;
  backends: number[];
  /**
   * `http` (gateways): health-checked with `GET checkPath`, a request whose gateway refused or died is retried
   * on another. `tcp` (Temporal frontends): gRPC connections pass through, backends checked by connecting.
   */
  mode: 'http' | 'tcp';
  checkPath?: string;
  name?: string;
  /** Told the balancer process's pid (HAProxy), so a later run can clean up after one that was killed. */
  onSpawn?: (pid: number | undefined) => void;
}

export function haproxyAvailable(): boolean {
  return spawnSync('haproxy', ['-v']).status === 0;
}

export async function startBalancer(options: BalancerOptions): Promise<Balancer> {
  return startHaproxy(options) ?? (await startTcpBalancer(options.port, options.backends));
}

/** HAProxy when it is on PATH: health checks, retries of a request whose gateway refused or died, redispatch. */
export function startHaproxy(options: BalancerOptions): Balancer | undefined {
  if (!haproxyAvailable()) return undefined;
  const { port, backends, mode } = options;
  const name = options.name ?? 'backends';
  const http = mode === 'http';
  const config = [
    'global',
    '  maxconn 4096',
    'defaults',
    `  mode ${mode}`,
    '  timeout connect 500ms',
    // gRPC streams (long polls) stay open for up to a minute between messages.
    `  timeout client ${http ? '60s' : '5m'}`,
    `  timeout server ${http ? '60s' : '5m'}`,
    '  timeout check 2s',
    ...(http
      ? [
          // Hooks and fetches are idempotent (event ids, update ids), so a request may go to the other gateway.
          '  retries 3',
          '  option redispatch 1',
          '  option http-buffer-request',
          '  retry-on conn-failure empty-response junk-response',
        ]
      : ['  retries 3', '  option redispatch 1']),
    `frontend ${name}-in`,
    `  bind 127.0.0.1:${port}`,
    `  default_backend ${name}`,
    `backend ${name}`,
    '  balance roundrobin',
    ...(http ? [`  option httpchk GET ${options.checkPath ?? '/readyz'}`] : []),
    '  default-server inter 500ms fall 2 rise 1',
    ...backends.map((p, i) => `  server ${name}${i + 1} 127.0.0.1:${p} check`),
    // As deploy/haproxy.cfg: when every check failed at once (a loaded host), forward anyway rather than 503.
    ...(http
      ? ['  option allbackups', ...backends.map((p, i) => `  server ${name}${i + 1}-backup 127.0.0.1:${p} backup`)]
      : []),
    '',
  ].join('\n');
  const file = path.join(options.dir, `haproxy-${name}.cfg`);
  writeFileSync(file, config);
  const check = spawnSync('haproxy', ['-c', '-q', '-f', file], { encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`haproxy config invalid: ${check.stderr}`);
  const child: ChildProcess = spawn('haproxy', ['-db', '-f', file], { stdio: 'ignore' });
  options.onSpawn?.(child.pid);
  return {
    kind: `HAProxy (${mode}${http ? `, health check GET ${options.checkPath ?? '/readyz'}` : ''})`,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** The fallback: round-robin TCP, and on a refused connection the next backend, a few times. */
export function startTcpBalancer(port: number, backends: number[]): Promise<Balancer> {
  let next = 0;
  const server = net.createServer((client) => {
    client.pause();
    const tryConnect = (triesLeft: number) => {
      const backend = backends[next++ % backends.length];
      const upstream = net.connect(backend, '127.0.0.1');
      upstream.once('connect', () => {
        upstream.on('error', () => client.destroy());
        client.on('error', () => upstream.destroy());
        client.pipe(upstream).pipe(client);
        client.resume();
      });
      upstream.once('error', () => {
        if (upstream.connecting === false && upstream.bytesWritten > 0) return client.destroy();
        if (triesLeft > 0) setTimeout(() => tryConnect(triesLeft - 1), 100);
        else client.destroy();
      });
    };
    tryConnect(5);
  });
  return new Promise((resolve) =>
    server.listen(port, '127.0.0.1', () =>
      resolve({
        kind: 'Node TCP round-robin (no haproxy on PATH), retrying refused connections',
        stop: () => new Promise((done) => server.close(() => done())),
      }),
    ),
  );
}
