import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { WORKFLOW_TRACING_INTERCEPTORS } from '../src/telemetry';

/** Path of the workflow code entry point (a `.ts` file under ts-node/jest, `.js` once compiled). */
export const WORKFLOWS_PATH = require.resolve('../workflows');

/**
 * Bundles the workflow code once into a file, so workers start in about a second instead of re-running
 * webpack each time (and a replacement worker after a crash is back quickly).
 */
export async function bundleWorkflowsToFile(outFile: string, options: { traced?: boolean } = {}): Promise<string> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    logger: new DefaultLogger('WARN'),
    ...(options.traced && { workflowInterceptorModules: [WORKFLOW_TRACING_INTERCEPTORS] }),
  });
  mkdirSync(path.dirname(outFile), { recursive: true });
  writeFileSync(outFile, code);
  return outFile;
}

/**
 * Where the traced variant of a bundle lives (`traced: true`: the same code plus OpenTelemetry's workflow
 * interceptors, which a bundle must contain to run them). A worker with tracing on runs that one.
 */
export function tracedBundlePath(bundlePath: string): string {
  return bundlePath.replace(/(\.js)?$/, '.traced.js');
}
