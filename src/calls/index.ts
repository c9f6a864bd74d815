export * from './ids';
export * from './events';
export * from './commands';
export * from './errors';
export * from './state';
export * from './messages';
export * from './controls';
export * from './search-attributes';
export * from './session-input';
export * from './fax';
export * from './queue';
export * from './transfer';
export * from './media';
// supervisor controls (monitor / whisper / barge)
export * from './supervisor';
