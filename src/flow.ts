/**
 * `durable-calls/flow`: what a flow module imports. Flows run inside Temporal's workflow sandbox, so this entry
 * holds only sandbox-safe code (the call model's errors) and types; import nothing else of the package there.
 *
 *   import { isCallEnded, type Flow } from 'durable-calls/flow';
 *   export const myMenu: Flow = async (call, { args }) => { await call.answer(); ... };
 */
export type { Flow, FlowContext } from '../workflows/flows/types';
export type {
  AgentOffer,
  CallSession,
  DialResult,
  EnqueueOptions,
  EnqueueResult,
  FaxOutcome,
  GatherResult,
  OfferTaken,
  RecordingResult,
} from '../workflows/session';
export type { DialOptions, GatherOptions, Prompt, RecordOptions } from './calls/commands';
export type { FlowArgs, FlowCheckpoint } from './calls/session-input';
export { CallEnded, Unsupported, isCallEnded } from './calls/errors';
// Detection and media (issue 10 item 4).
export type { MachineDetection, ReferResult, StreamResult } from '../workflows/session';
export type { DetectMachineOptions, StreamOptions, StreamTrack, TranscribeOptions } from './calls/commands';
export type { MachineDetectionResult } from './calls/events';
