// `npm start`: Temporal (a dev server), the worker with this app's flows, the gateway and a simulator per carrier.
// `npm run dev` (--watch): the same, and the worker restarts whenever flows.ts changes.
const path = require('node:path');
const { runFromCommandLine } = require('durable-calls');

const flowsPath = path.join(__dirname, 'flows.ts');
runFromCommandLine({
  flowsPath,
  routingTablePath: path.join(__dirname, 'routes.json'),
  dataDir: path.join(__dirname, '.data'),
  watch: process.argv.includes('--watch') ? [flowsPath] : [],
});
