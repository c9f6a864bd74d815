/**
 * `durable-calls`: the service as a library, for an app with its own flows (README, "Your own flows").
 *
 * - `createWorker({ flowsPath })`: a Temporal worker running the call sessions with your flows beside the built-in ones.
 * - `createGateway()`: the webhook and REST gateway as a fastify app (not listening yet).
 * - `runService({ flowsPath, routingTablePath, watch })`: everything on one machine, as `npm start` runs it.
 * - Flow types: `durable-calls/flow` (what a flow module imports); test helpers: `durable-calls/testing`.
 */
export { createWorker, type CreateWorkerOptions, type DurableCallsWorker } from '../worker/create-worker';
export { bundleWorkflowsToFile } from '../worker/bundle';
export { createGateway, type CreateGatewayOptions } from './gateway/create';
export { buildGateway, type GatewayDeps } from './gateway/app';
export { runService, runFromCommandLine, type RunServiceOptions, type RunningService } from './run';
export { loadConfig, loadRoutingTable, type Config, type RouteEntry, type RoutingTable } from './config';
export { FLOW_NAMES } from './calls/session-input';
export type { Flow, FlowContext, CallSession } from './flow';
export type { CallOutcome, CallState, CallSessionInput, Provider } from './calls';
