/**
 * The simulated Telnyx account's fixed ids, in a module of their own so config and dev wiring can name them
 * without loading the simulator.
 */

/** The Call Control App id of the simulated account (the app's default TELNYX_CONNECTION_ID), unless `connectionId` says otherwise. */
export const DEFAULT_CONNECTION_ID = 'durable-calls-dev';
