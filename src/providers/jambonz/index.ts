/**
 * The jambonz adapter: pure functions shared by the gateway (verify, normalise, answer hooks with verbs),
 * the activities (Live Call Control, outbound calls) and the simulator.
 */
export * from './webhook';
export * from './ops';
export * from './events';
export * from './verbs';
export * from './live-control';
export * from './outbound-call';
export * from './carrier';
export * from './document';
export * from './media';
