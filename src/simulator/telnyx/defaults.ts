/**
 * The simulated Telnyx account's fixed ids, in a module of their own so config and dev wiring can name them
 * without loading the simulator.
 */

import { TELNYX_DEV_CONNECTION_ID } from '../../providers/telnyx/ops';

/** The Call Control App id of the simulated account (the app's default TELNYX_CONNECTION_ID), unless `connectionId` says otherwise. */
export const DEFAULT_CONNECTION_ID = TELNYX_DEV_CONNECTION_ID;
