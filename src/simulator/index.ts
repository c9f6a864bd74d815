export * from './telnyx';
export * from './signalwire';
