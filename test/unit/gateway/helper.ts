import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Client, Connection, type ConnectionOptions } from '@temporalio/client';
import { FLOW_NAMES } from '../../../src/calls';
import { loadConfig } from '../../../src/config';
import { buildGateway } from '../../../src/gateway/app';

type GrpcInterceptor = NonNullable<ConnectionOptions['interceptors']>[number];

/** The real gateway, as `main.ts` builds it, over a Temporal that does not answer. */
export interface TestGateway {
  app: FastifyInstance;
  /** The Temporal RPCs the gateway attempted (`SignalWithStartWorkflowExecution`, ...), in order. */
  temporalCalls: string[];
}

/**
 * fastify/demo's `test/helper.ts` for the gateway: `buildGateway` with the given environment, ready for
 * `inject`; the test closes it (`app.close()`), which closes the connection too. Temporal is a lazy connection
 * to a port nothing listens on, without the client's retry interceptor, so every RPC fails at once: the
 * 401/400/503 paths run for real, and an interceptor records which RPCs were tried ("nothing delivered" is
 * `temporalCalls` staying empty).
 */
export async function buildTestGateway(
  env: NodeJS.ProcessEnv,
  /** Where Temporal is: by default a port nothing listens on (every RPC fails at once). */
  temporalAddress = '127.0.0.1:1',
): Promise<TestGateway> {
  const temporalCalls: string[] = [];
  const record: GrpcInterceptor = (options, nextCall) => {
    temporalCalls.push(options.method_definition.path.split('/').pop() ?? '');
    // Passing the next call through untouched is what grpc-js does at run time; its type wants the class.
    return nextCall(options) as ReturnType<GrpcInterceptor>;
  };
  const connection = Connection.lazy({ address: temporalAddress, interceptors: [record] });
  const dataDir = mkdtempSync(path.join(tmpdir(), 'gateway-test-'));
  const app = await buildGateway({
    config: loadConfig({ LOG_LEVEL: 'silent', DATA_DIR: dataDir, PUBLIC_BASE_URL: 'https://gw.example.com', ...env }),
    client: new Client({ connection }),
    connection,
    flows: [...FLOW_NAMES],
    logger: false,
  });
  app.addHook('onClose', async () => {
    await connection.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  await app.ready();
  return { app, temporalCalls };
}

/**
 * A Temporal that hangs: it accepts TCP connections and never says a word, so every RPC waits until its
 * deadline (a server that is overloaded, or a network that drops packets). Close it after the gateway.
 */
export async function blackHole(): Promise<{ address: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
