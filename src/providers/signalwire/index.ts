export * from './carrier';
export * from './commands';
export * from './ops';
export * from './documents';
export * from './events';
export * from './update-rules';
export * from './webhook';
export * from './media';
