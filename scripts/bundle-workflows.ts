import path from 'node:path';
import { bundleWorkflowsToFile } from '../worker/bundle';

/** `npm run build` step: writes the pre-bundled workflow code next to the compiled worker. */
const out = process.argv[2] ?? path.resolve(__dirname, '..', 'workflow-bundle.js');
bundleWorkflowsToFile(out)
  .then((file) => console.log(`workflow bundle written to ${file}`))
  .catch((err) => {
    console.error(err);
    process.exit(1);
  });
