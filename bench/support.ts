import { spawn } from 'node:child_process';
import { randomUUID, sign, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { Pool } from 'undici';

export const ROOT = path.resolve(__dirname, '..');

/**
 * A stand-in Telnyx REST API that notes when each command arrives (`performance.now()` of this process,
 * the same clock the load generator starts its timers on) and answers as Telnyx does on success.
 */
export interface CaptureCarrier {
  baseUrl: string;
  /** Resolves with the arrival time and body of the next `action` for `callId`; call before sending the event. */
  expect(callId: string, action: string, timeoutMs?: number): Promise<{ at: number; body: Record<string, unknown> }>;
  /** Commands nobody waited for (retries, clean-up hangups). */
  unexpected: number;
  close(): Promise<void>;
}

export async function captureCarrier(): Promise<CaptureCarrier> {
  const waiters = new Map<string, (arrival: { at: number; body: Record<string, unknown> }) => void>();
  const carrier = { unexpected: 0 } as CaptureCarrier;
  const server = http.createServer((req, res) => {
    const at = performance.now();
    const match = /\/calls\/([^/]+)\/actions\/([^/?]+)/.exec(req.url ?? '');
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const data = Buffer.concat(chunks).toString('utf8');
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"data":{"result":"ok"}}');
      const key = match ? `${decodeURIComponent(match[1])} ${match[2]}` : '';
      const waiter = waiters.get(key);
      if (!waiter) return void carrier.unexpected++;
      waiters.delete(key);
      waiter({ at, body: data ? (JSON.parse(data) as Record<string, unknown>) : {} });
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(carrier, {
    baseUrl: `http://127.0.0.1:${port}/v2`,
    expect(callId: string, action: string, timeoutMs = 30_000) {
      return new Promise<{ at: number; body: Record<string, unknown> }>((resolve, reject) => {
        const key = `${callId} ${action}`;
        const timer = setTimeout(() => {
          waiters.delete(key);
          reject(new Error(`no ${action} for ${callId} within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.set(key, (arrival) => {
          clearTimeout(timer);
          resolve(arrival);
        });
      });
    },
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
}

/** Posts Telnyx-signed webhooks over a keep-alive pool, as Telnyx would. */
export function webhookSender(url: string, privateKey: KeyObject) {
  const target = new URL(url);
  const pool = new Pool(target.origin, { connections: 512 });
  return {
    /** Signs `event` for `callId`; `post()` sends it (time it from just before calling it). */
    prepare(eventType: string, callId: string, extra: Record<string, unknown> = {}) {
      const body = JSON.stringify({
        data: {
          record_type: 'event',
          event_type: eventType,
          id: randomUUID(),
          occurred_at: new Date().toISOString(),
          payload: {
            call_control_id: callId,
            call_leg_id: `leg-${callId}`,
            call_session_id: `session-${callId}`,
            connection_id: 'bench',
            from: '+15557770100',
            to: '+15550001000',
            ...extra,
          },
        },
      });
      const timestamp = String(Math.floor(Date.now() / 1000));
      const signature = sign(null, Buffer.from(`${timestamp}|${body}`), privateKey).toString('base64');
      const headers = {
        'content-type': 'application/json',
        'telnyx-timestamp': timestamp,
        'telnyx-signature-ed25519': signature,
      };
      return async () => {
        const res = await pool.request({ method: 'POST', path: target.pathname, headers, body });
        const text = await res.body.text();
        if (res.statusCode !== 200) throw new Error(`${eventType}: HTTP ${res.statusCode} ${text}`);
      };
    },
    close: () => pool.close(),
  };
}

export interface Child {
  pid: number;
  stop(): Promise<void>;
}

/** Runs a bench/ entry point as its own process (ts-node) and waits for its JSON `...-ready` line. */
export function startChild(file: string, env: NodeJS.ProcessEnv, log: (line: string) => void): Promise<Child> {
  const name = path.basename(file, '.ts');
  const child = spawn(
    process.execPath,
    ['-r', require.resolve('ts-node/register/transpile-only'), path.join(__dirname, file)],
    {
      cwd: ROOT,
      env: { ...process.env, ...env, TS_NODE_TRANSPILE_ONLY: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  createInterface({ input: child.stderr }).on('line', (line) => log(`[${name}] ${line}`));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} not ready within 60 s`)), 60_000);
    void exited.then(() => reject(new Error(`${name} exited before it was ready`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (!line.includes('-ready"')) return log(`[${name}] ${line}`);
      clearTimeout(timer);
      resolve({
        pid: child.pid!,
        async stop() {
          if (child.exitCode !== null || child.signalCode !== null) return;
          child.kill('SIGTERM');
          const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
          await exited;
          clearTimeout(kill);
        },
      });
    });
  });
}

/** Resident set size of a process in MiB (Linux /proc). */
export function rssMiB(pid: number): number {
  const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  return kb / 1024;
}

export function percentile(sorted: number[], q: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

export function loadAverage(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

/** CPU time (user + system) a process has used so far, in ms (Linux /proc, 100 ticks per second). */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** CPU time the whole machine has spent busy so far, in ms, summed over its cores (Linux /proc/stat). */
export function machineBusyMs(): number {
  const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = ticks;
  return (user + nice + system + irq + softirq + steal) * 10;
}
