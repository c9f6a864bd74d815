export * from './ids';
export * from './events';
export * from './commands';
export * from './errors';
export * from './state';
export * from './messages';
export * from './search-attributes';
export * from './session-input';
