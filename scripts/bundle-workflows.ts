import path from 'node:path';
import { bundleWorkflowsToFile, tracedBundlePath } from '../worker/bundle';

/**
 * `npm run build` step: writes the pre-bundled workflow code next to the compiled worker, and its variant with the
 * tracing interceptors beside it (for workers run with OpenTelemetry traces on).
 */
const out = process.argv[2] ?? path.resolve(__dirname, '..', 'workflow-bundle.js');
bundleWorkflowsToFile(out)
  .then(() => bundleWorkflowsToFile(tracedBundlePath(out), { traced: true }))
  .then((traced) => console.log(`workflow bundles written to ${out} and ${traced}`))
  .catch((err) => {
    console.error(err);
    process.exit(1);
  });
