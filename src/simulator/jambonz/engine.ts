import { scriptedAgent, type AgentScript, type CallerScript } from '../scripts';
import {
  inboundSessionNew,
  outboundSessionNew,
  SimCall,
  snakeCaseKeys,
  FS_SIP_ADDRESS,
  type AccountContext,
  type VerbLoop,
} from './call';
import { SIM_MS, SimClock, Timers } from '../clock';
import { untilCallFinished } from '../control';
import { toHookTarget, type HookAnswer, type HookClient, type HookTarget } from './hooks';
import { OutboundLeg, type OutboundLegEvents } from './outbound-leg';
import { Queues } from './queues';
import { Conferences } from '../conferences';
import { FeatureServerSession, type SessionHost, type VerbRun } from './session';
import type { JambonzSpecValidator } from './spec';
import type { JambonzCallRecord, JambonzCallStatus } from './types';
import { normaliseVerbs, VerbSpecError, type NormalisedVerb } from './verb-spec';

/**
 * The calls: inbound calls from scripted callers, calls placed with createCall, legs `dial` creates;
 * their status notifications; the lookups Live Call Control and the REST API need.
 */

type Data = Record<string, unknown>;

const CREATE_CALL_DEFAULT_TIMEOUT_SECONDS = 60;
/** The api server's Redis record outlives a finished call by an hour (JAMBONES_MAX_CALL_LIFETIME_AFTER_COMPLETED). */
const RECORD_LIFETIME_AFTER_END_MS = 60 * 60_000;
/** A dialed number nobody scripted answers like a person would. */
const DEFAULT_AGENT: AgentScript = { behaviour: 'answer' };

export interface CallEngineOptions {
  account: AccountContext;
  /** The application's call_hook and call_status_hook. */
  callHook: HookTarget;
  statusHook: HookTarget;
  hooks: HookClient;
  /** Absent when the spec files are missing: verbs are then read without validation. */
  specs?: JambonzSpecValidator;
  clock: SimClock;
  agents: Record<string, AgentScript>;
  log: (line: string) => void;
}

export class CallEngine implements SessionHost {
  readonly queues = new Queues();
  readonly conferences = new Conferences();
  private readonly calls = new Map<string, SimCall>();
  private readonly timerSets = new Set<Timers>();
  private readonly timers: Timers;

  constructor(private readonly options: CallEngineOptions) {
    this.timers = this.newTimers();
  }

  get account(): AccountContext {
    return this.options.account;
  }

  get hooks(): HookClient {
    return this.options.hooks;
  }

  get clock(): SimClock {
    return this.options.clock;
  }

  readonly log = (line: string): void => this.options.log(line);

  newTimers(): Timers {
    const timers = new Timers(this.options.clock);
    this.timerSets.add(timers);
    return timers;
  }

  /** The script of whoever answers at `target` (a number, SIP URI or user name; `sip:user@host` also matches `user`). */
  agentFor(target: string): AgentScript {
    const user = /^<?sips?:([^@>;]+)/.exec(target)?.[1];
    return (
      scriptedAgent(this.options.agents, target) ??
      (user !== undefined ? scriptedAgent(this.options.agents, user) : undefined) ??
      DEFAULT_AGENT
    );
  }

  // --- status --------------------------------------------------------------------------------------------

  /**
   * A status change: the call record is written (so the api server knows the call from now on) and
   * call:status goes to the leg's status hook. `completed` is reported once.
   */
  changeStatus(call: SimCall, status: JambonzCallStatus, sipStatus: number, sipReason: string): void {
    if (status === 'completed') {
      if (call.notifiedComplete) return;
      call.notifiedComplete = true;
    }
    call.status = status;
    call.sipStatus = sipStatus;
    call.sipReason = sipReason;
    call.hasRecord = true;
    if (call.statusHook)
      this.hooks.notify(call.statusHook, snakeCaseKeys(call.callInfo(this.account)) as Data, call.callSid);
  }

  /** An answered leg hangs up: `completed` with its duration and who ended it. */
  endAnswered(call: SimCall, by: 'caller' | 'jambonz', note: string): void {
    if (call.ended) return;
    call.callTerminationBy = by;
    call.durationSeconds = call.answeredAt === undefined ? 0 : this.clock.simSecondsSince(call.answeredAt);
    this.changeStatus(call, 'completed', call.sipStatus, call.sipReason);
    call.markEnded(note);
  }

  /**
   * The verbs of a hook's answer, as normalizeJambones and makeTask read them (validated against the verb
   * spec when it is loaded). Throws `VerbSpecError`, after noting it on the delivery.
   */
  readVerbs(answer: HookAnswer): NormalisedVerb[] {
    try {
      return this.options.specs ? this.options.specs.verbs.validateDocument(answer.body) : normaliseVerbs(answer.body);
    } catch (err) {
      if (err instanceof VerbSpecError) this.hooks.refuseVerbs(answer.delivery, err.message);
      throw err;
    }
  }

  // --- inbound calls -------------------------------------------------------------------------------------

  placeInboundCall(script: CallerScript): SimCall {
    const call = new SimCall('inbound', script.from, script.to, { kind: 'caller', script });
    call.statusHook = this.options.statusHook;
    this.calls.set(call.callSid, call);
    this.timers.after(script.giveUpAfterMs ?? SIM_MS.callerGivesUp, () => {
      if (call.answered || call.ended) return;
      if (call.session) call.session.farEndHangsUp('caller gave up before answer');
      else call.cancelledEarly = true; // the first hook is still out; the session will see the CANCEL
    });
    void this.startInboundSession(call);
    return call;
  }

  /**
   * session:new to the application's call_hook. No answer in time, an error status or verbs that break the
   * spec reject the INVITE with 480 (JAMBONES_WEBHOOK_ERROR_RETURN): no session, no status hook, no record.
   */
  private async startInboundSession(call: SimCall): Promise<void> {
    let verbs: NormalisedVerb[];
    try {
      const payload = snakeCaseKeys(inboundSessionNew(call, this.account)) as Data;
      verbs = this.readVerbs(await this.hooks.request('session:new', this.options.callHook, payload, call.callSid));
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      this.log(`${call.callSid}: INVITE rejected with 480: ${reason}`);
      call.markEnded(`rejected 480 (${reason})`);
      return;
    }
    const session = new FeatureServerSession(call, this, new URL(this.options.callHook.url).origin);
    this.changeStatus(call, 'trying', 100, 'Trying');
    if (call.cancelledEarly) session.farEndHangsUp('caller gave up before answer');
    session.start(verbs);
  }

  // --- calls we place ------------------------------------------------------------------------------------

  /** createCall (the body validated and the application merged in): the session's first task is rest:dial. */
  createCall(body: Data): SimCall {
    const target = targetIdentity(body.to as Data);
    const call = new SimCall('outbound', String(body.from), target, { kind: 'agent', script: this.agentFor(target) });
    if (typeof body.tag === 'object' && body.tag !== null) call.customerData = body.tag as Data;
    const callHook = toHookTarget(body.call_hook, '') as HookTarget;
    call.statusHook = toHookTarget(body.call_status_hook, '');
    this.calls.set(call.callSid, call);
    new FeatureServerSession(call, this, new URL(callHook.url).origin).start([{ name: 'rest:dial', data: body }]);
    return call;
  }

  /**
   * The rest:dial task: rings the callee until it answers, fails or `timeout` passes; once answered, starts
   * `timeLimit` and `amd` and requests the call_hook (session:new), whose verbs replace the task. If that
   * fetch fails there are no verbs, so jambonz hangs up.
   */
  async runRestDial(session: FeatureServerSession, data: Data, run: VerbRun): Promise<void> {
    const call = session.call;
    const answered = await new Promise<boolean>((settle) => {
      const settleWith = (result: boolean) => {
        this.timers.cancel(ringTimer);
        stopWatching();
        settle(result);
      };
      const agent = call.farEnd.kind === 'agent' ? call.farEnd.script : DEFAULT_AGENT;
      const leg = new OutboundLeg(this, call, agent, {
        answered: () => settleWith(true),
        failed: () => settleWith(false),
        farEndHungUp: () => session.farEndHangsUp('callee hung up'),
      });
      const timeoutSeconds = typeof data.timeout === 'number' ? data.timeout : CREATE_CALL_DEFAULT_TIMEOUT_SECONDS;
      const ringTimer = this.timers.after(timeoutSeconds * 1000, () => leg.cancel());
      // Killing rest:dial (Live Call Control `no-answer`, or a redirect while ringing) CANCELs the INVITE.
      const stopWatching = run.onKill(() => leg.cancel());
      leg.start();
    });
    if (!answered || call.ended) return;
    if (typeof data.timeLimit === 'number') {
      session.hangupAfter(data.timeLimit * 1000, 'time limit reached, jambonz hung up');
    }
    if (typeof data.amd === 'object' && data.amd !== null) session.detectMachine(call, data.amd as Data);
    const callHook = toHookTarget(data.call_hook, '') as HookTarget;
    try {
      const answer = await this.hooks.request(
        'session:new',
        callHook,
        snakeCaseKeys(outboundSessionNew(call, this.account)) as Data,
        call.callSid,
      );
      session.replaceApplication(this.readVerbs(answer));
    } catch (err) {
      this.log(`${call.callSid}: session:new failed: ${err instanceof Error ? err.message : String(err)}`);
      call.milestones.push('session:new failed');
    }
  }

  /** A leg of a `dial`: its status goes to the parent's status hook, with `parent_call_sid`. */
  dialLeg(parent: FeatureServerSession, target: Data, from: string, events: OutboundLegEvents): OutboundLeg {
    const to = targetIdentity(target);
    const agent = this.agentFor(to);
    const call = new SimCall('outbound', from, to, { kind: 'agent', script: agent }, parent.call.callSid);
    call.statusHook = parent.call.statusHook;
    this.calls.set(call.callSid, call);
    return new OutboundLeg(this, call, agent, events);
  }

  /** Live Call Control `child_call_hook`: the bridged leg of a dial leaves it and runs verbs of its own. */
  adoptDialedLeg(parent: FeatureServerSession, leg: OutboundLeg | undefined, verbs: NormalisedVerb[]): void {
    if (leg === undefined) return;
    const session = new FeatureServerSession(leg.call, this, parent.applicationBaseUrl);
    leg.retarget({
      answered: () => undefined,
      failed: () => undefined,
      farEndHungUp: () => session.farEndHangsUp(`${leg.call.to} hung up`),
    });
    leg.call.hostSession = undefined;
    leg.call.milestones.push('redirected to a session of its own');
    session.start(verbs);
  }

  // --- lookups -------------------------------------------------------------------------------------------

  /** The call as the api server finds it: only once its record was written, and only under its own account. */
  findCall(accountSid: string, callSid: string): SimCall | undefined {
    const call = this.calls.get(callSid);
    return accountSid === this.account.accountSid && call?.hasRecord ? call : undefined;
  }

  /** The session a Live Call Control request reaches: the call's own, or its parent's while a dial bridges it. */
  sessionFor(call: SimCall): VerbLoop | undefined {
    if (call.session && !call.session.loopDone) return call.session;
    return call.hostSession && !call.hostSession.loopDone ? call.hostSession : undefined;
  }

  /** GET /Calls/{CallSid}: the Redis record, snake_cased. */
  apiRecord(call: SimCall): Data {
    const serviceUrl = `http://${FS_SIP_ADDRESS.split(':')[0]}:3000`;
    return snakeCaseKeys({ ...call.callInfo(this.account), callerName: call.from, serviceUrl }) as Data;
  }

  apiRecords(): Data[] {
    return [...this.calls.values()].filter((call) => call.hasRecord).map((call) => this.apiRecord(call));
  }

  call(callSid: string): SimCall | undefined {
    return this.calls.get(callSid);
  }

  records(): JambonzCallRecord[] {
    return [...this.calls.values()].map((call) => call.record());
  }

  /** Resolves once the call ended, its verb loop finished and none of its hooks is in flight. */
  async waitForCallEnd(callSid: string, timeoutMs: number): Promise<JambonzCallRecord> {
    const call = this.calls.get(callSid);
    if (!call) throw new Error(`no call ${callSid}`);
    await untilCallFinished(
      callSid,
      timeoutMs,
      async () => {
        if (!call.ended) await new Promise<void>((resolve) => call.endWaiters.push(resolve));
        await call.session?.finished;
        await this.hooks.idle(callSid);
      },
      () => `${call.record().status}: ${call.record().outcome}`,
    );
    return call.record();
  }

  /** Forgets calls whose record has expired. */
  sweep(now = Date.now()): void {
    for (const [callSid, call] of this.calls) {
      if (call.endedAt !== undefined && now - call.endedAt > RECORD_LIFETIME_AFTER_END_MS) this.calls.delete(callSid);
    }
  }

  close(): void {
    for (const call of this.calls.values()) {
      call.session?.close();
      call.endWaiters.splice(0).forEach((wake) => wake());
    }
    for (const timers of this.timerSets) timers.clear();
  }
}

/** Who a target reaches: its number, SIP URI or user name. */
function targetIdentity(target: Data): string {
  const identity = target.type === 'sip' ? target.sipUri : target.type === 'user' ? target.name : target.number;
  return String(identity);
}
