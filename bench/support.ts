import { spawn } from 'node:child_process';
import { randomUUID, sign, type KeyObject } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import type { Client } from '@temporalio/client';
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

/** Each live process's parent and CPU ms: its own, and that of its children it has waited for (Linux /proc). */
function processTable(): Map<number, { parent: number; ownMs: number; reapedMs: number }> {
  const table = new Map<number, { parent: number; ownMs: number; reapedMs: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    table.set(Number(entry), {
      parent: Number(fields[1]),
      ownMs: (Number(fields[11]) + Number(fields[12])) * 10,
      reapedMs: (Number(fields[13]) + Number(fields[14])) * 10,
    });
  }
  return table;
}

/**
 * CPU ms used so far by each named process together with its descendants that are not named themselves:
 * PostgreSQL's backends count for `postgres`, while the worker this process started counts for `worker`,
 * not for the benchmark. A process that is gone counts 0.
 */
export function cpuMsByProcess(processes: Record<string, number>): Record<string, number> {
  const table = processTable();
  const named = new Set(Object.values(processes));
  const children = new Map<number, number[]>();
  for (const [pid, { parent }] of table) children.set(parent, [...(children.get(parent) ?? []), pid]);
  const treeMs = (pid: number): number => {
    const own = table.get(pid);
    if (!own) return 0;
    const rest = (children.get(pid) ?? []).filter((child) => !named.has(child));
    return own.ownMs + own.reapedMs + rest.reduce((sum, child) => sum + treeMs(child), 0);
  };
  return Object.fromEntries(Object.entries(processes).map(([name, pid]) => [name, treeMs(pid)]));
}

/**
 * History events one reaction costs: in each workflow's history, the events from a carrier event's signal
 * up to the next signal, for the signals `from` (0-based) to `from + count - 1`. Averaged over the workflows.
 */
export async function historyEventsPerReaction(
  client: Client,
  workflowIds: string[],
  from: number,
  count: number,
): Promise<number> {
  const spans = await Promise.all(
    workflowIds.map(async (workflowId) => {
      const { events } = await client.workflow.getHandle(workflowId).fetchHistory();
      const signals = (events ?? []).flatMap((event, index) =>
        event.workflowExecutionSignaledEventAttributes ? [index] : [],
      );
      if (signals.length < from + count + 1) throw new Error(`${workflowId}: ${signals.length} signals in its history`);
      return signals[from + count] - signals[from];
    }),
  );
  return spans.reduce((sum, span) => sum + span, 0) / (workflowIds.length * count);
}
