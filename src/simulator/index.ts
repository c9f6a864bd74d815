export * from './telnyx';
export * from './signalwire';
export * from './jambonz';
