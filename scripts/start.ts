import { runFromCommandLine } from '../src/run';

/** `npm start`: the whole service with the embedded defaults (`runService`, src/run.ts). */
runFromCommandLine({}, 'Try `npm run demo` in another terminal. ');
