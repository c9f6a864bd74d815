/** jest globalTeardown of the `integration` project: stops the run's servers, whichever pids they have now. */
import { stopProcess } from '../../src/dev/dev-server';
import { log, readTestRun, testRunFiles } from './temporal-server';

export default async function globalTeardown(): Promise<void> {
  for (const file of testRunFiles()) {
    const run = readTestRun(file);
    await stopProcess(run.pid);
    log(`Stopped a test server (pid ${run.pid}); its data stays in ${run.dbFile}`);
  }
}
