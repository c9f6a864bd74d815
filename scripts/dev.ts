import path from 'node:path';
import { loadConfig, PROJECT_ROOT } from '../src/config';
import { runFromCommandLine } from '../src/run';

/**
 * `npm run dev`: `npm start`, and the worker restarts (with freshly bundled workflow code) whenever a file under
 * workflows/ or your flows (FLOWS_PATH) changes; the gateway, the simulators and Temporal keep running.
 */
const { flowsPath } = loadConfig().worker;
const watched = [path.join(PROJECT_ROOT, 'workflows'), ...(flowsPath ? [flowsPath] : [])];
runFromCommandLine({ watch: watched }, `Watching ${watched.map((w) => path.relative(process.cwd(), w)).join(', ')}. `);
