/** Workflow code the worker bundles: everything exported here is a workflow type. */
export { callSessionWorkflow } from './call-session';
export { sendFaxWorkflow } from './fax';
export { callQueueWorkflow } from './queue';
// Telnyx fax receiving.
export { receiveFaxWorkflow } from './fax-receive';
