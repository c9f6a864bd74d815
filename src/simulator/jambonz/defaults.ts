/**
 * The simulated jambonz account's fixed ids, in a module of their own so config and dev wiring can name them
 * without loading the simulator. jambonz sids are UUIDs (the api server checks application_sid's format).
 */

/** The application inbound calls run, unless `applicationSid` says otherwise. */
export const DEFAULT_APPLICATION_SID = '7087fe50-8acb-4f3b-b820-97b573723aab';
