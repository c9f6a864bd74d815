/** jest globalTeardown of the `integration` project: stops the run's server, whichever pid it has now. */
import { stopProcess } from '../../src/dev/dev-server';
import { log, readTestRun } from './temporal-server';

export default async function globalTeardown(): Promise<void> {
  const run = readTestRun();
  await stopProcess(run.pid);
  log(`Stopped the test server (pid ${run.pid}); its data stays in ${run.dbFile}`);
}
