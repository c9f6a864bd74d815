import { Client, Connection } from '@temporalio/client';
import { FLOW_NAMES } from '../calls';
import { loadConfig } from '../config';
import { buildGateway } from './app';

/**
 * The gateway process. It connects to Temporal lazily, so it starts (and answers 503 to webhooks, which
 * carriers retry) even while Temporal is still coming up.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const address = config.temporal.address ?? `127.0.0.1:${config.temporal.port}`;
  const connection = Connection.lazy({ address });
  const client = new Client({ connection, namespace: config.temporal.namespace });
  const app = await buildGateway({
    config,
    client,
    connection,
    flows: [...FLOW_NAMES],
  });
  const url = await app.listen({ port: config.gateway.port, host: config.gateway.host });
  console.log(JSON.stringify({ event: 'gateway-ready', url, pid: process.pid }));

  const close = async () => {
    await app.close();
    await connection.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void close());
  process.once('SIGINT', () => void close());
}

main().catch((err) => {
  console.error('gateway failed:', err);
  process.exit(1);
});
