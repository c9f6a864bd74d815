import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';

/** Path of the workflow code entry point (a `.ts` file under ts-node/jest, `.js` once compiled). */
export const WORKFLOWS_PATH = require.resolve('../workflows');

/**
 * Bundles the workflow code once into a file, so workers start in about a second instead of re-running
 * webpack each time (and a replacement worker after a crash is back quickly).
 */
export async function bundleWorkflowsToFile(outFile: string): Promise<string> {
  const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: new DefaultLogger('WARN') });
  mkdirSync(path.dirname(outFile), { recursive: true });
  writeFileSync(outFile, code);
  return outFile;
}
