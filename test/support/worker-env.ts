/**
 * jest `setupFiles` of the `integration` project: this worker's processes (stacks, clients, `loadConfig`) reach
 * this worker's own Temporal server (global-setup.ts starts one per worker).
 */
import { testServerAddress } from './temporal-server';

process.env.TEMPORAL_ADDRESS = testServerAddress();
