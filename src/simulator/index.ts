export * from './telnyx';
