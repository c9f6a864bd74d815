import {
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  log,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import {
  CONTROL_REFUSED,
  CallEnded,
  CallFlowKey,
  ErrorType,
  controlCommand,
  controlRefusal,
  failureType,
  isAnsweredStatus,
  type ControlRefusal,
  type ControlResult,
  type ControlUpdateArgs,
  type FlowArgs,
  isCallEnded,
  type DialOptions,
  isTransferControl,
  type LegState,
  type TransferControl,
  type TransferOutcome,
  type TransferState,
  isSupervisorRole,
  type SupervisorFacts,
  type SupervisorRequest,
} from '../src/calls';
import type { Flow, FlowContext } from './flows/types';
import { activitiesFor } from './session-engine';
import type { PendingOperation } from './event-ledger';
import { CallOperations, type DialResult } from './call-operations';

export * from './call-operations';

/** How long a supervisor's phone rings: the control answers within the REST API's deadline (20 s). */
const SUPERVISOR_RING_SECONDS = 12;

/** How long a hangup control waits for the carrier to report the call ended before it answers `sent`. */
const HANGUP_CONTROL_WAIT = '10 seconds';

/** A flow to run next, asked for by a `redirect` control, and the operations the old flow had running. */
interface FlowRedirect {
  flow: string;
  args: FlowArgs;
  interrupted: string[];
}

/**
 * One call's session, per workflow run: the flow API (`CallOperations`) plus what acts on the call from outside
 * the flow (the `control` update's live controls, supervisors, blind and warm transfers, a redirect to another
 * flow) and the session's lifecycle around the flow.
 */
export class CallSession extends CallOperations {
  /** The running flow's scope: a `redirect` control cancels it. Unset before the flow starts and after it ends. */
  private flowScope?: CancellationScope;
  private pendingRedirect?: FlowRedirect;

  // ---------------------------------------------------------------------------------------------
  // Live control (the `control` update): validated from the session's state, then carried out.

  /** Whether the call is in a conference now (its `joinConference` runs). */
  private inConference(): boolean {
    return this.ledger.pending.some((w) => w.op === 'joinConference' && !w.event);
  }

  /** The update's validator: throws (so the update is refused, leaving no trace) when the control is not allowed now. */
  validateControl(args: ControlUpdateArgs, flows: readonly string[]): void {
    const refusal = controlRefusal(args, {
      state: this.state,
      recording: this.ledger.recordingInProgress,
      recordingByCommand: this.targetOf(['recordStart']).target !== undefined,
      flows,
      transfer: this.state.transfer,
      supervisor: this.supervisorFacts(),
      inConference: this.inConference(),
    });
    if (refusal) throw controlRefused(refusal);
    if (isTransferControl(args.request) && this.transferUnderWay)
      throw controlRefused({ kind: 'invalid-state', reason: 'a transfer step is under way' });
    if (args.request.action === 'redirect' && !this.flowScope)
      throw controlRefused({
        kind: 'invalid-state',
        reason: 'no flow is running (it has finished; the call is closing)',
      });
  }

  /**
   * Carries out a control the validator accepted: a command sent now (idempotent through its command key, and
   * Temporal runs an update id once), or a redirect to another flow. Failures are `ApplicationFailure`s whose
   * type the gateway maps to a status.
   */
  async control(args: ControlUpdateArgs): Promise<ControlResult> {
    try {
      return await this.carryOut(args);
    } catch (err) {
      // Anything but a Temporal failure thrown from an update handler would fail the workflow task.
      throw controlFailed(err);
    }
  }

  private async carryOut(args: ControlUpdateArgs): Promise<ControlResult> {
    const { request } = args;
    if (request.action === 'redirect') {
      this.pendingRedirect = {
        flow: request.flow,
        args: request.args ?? {},
        interrupted: this.ledger.pending.filter((w) => w.callId === this.state.callId).map((w) => w.op),
      };
      this.flowScope?.cancel();
      return { outcome: 'redirected', flow: request.flow };
    }
    if (isTransferControl(request)) return this.transferControl(request);
    if (isSupervisorRole(request.action)) return this.supervise(request as SupervisorRequest);
    const body = controlCommand(request, isAnsweredStatus(this.state.status), this.targetOf(['recordStart']));
    if (!body)
      throw controlRefused({ kind: 'unsupported', reason: `${args.carrier} does not support ${request.action}` });
    const callId = this.requirePrimary(request.action);
    const { seq, key } = this.begin(`control ${request.action}`, callId);
    // A hangup from outside is still this session's: registered like the flow's own, the call's end is ours.
    const ending: PendingOperation | undefined =
      body.op === 'hangup' || body.op === 'reject'
        ? { seq, key, op: body.op, callId, kinds: ['call.ended'] }
        : undefined;
    if (ending) this.ledger.pending.push(ending);
    try {
      await this.activity(
        body.op,
        () =>
          activitiesFor(`control ${request.action}`).sendCallCommand({
            ...body,
            provider: this.provider,
            callId,
            commandKey: key,
            ownerWorkflowId: this.workflowId,
          }),
        // The carrier may report the hang-up before its command returns: for a hangup that is success.
        { endedIsSuccess: ending !== undefined },
      );
      this.finish(seq, 'sent');
    } catch (err) {
      this.finish(seq, (err as Error).name ?? 'failed');
      if (ending) this.ledger.pending.splice(this.ledger.pending.indexOf(ending), 1);
      throw err;
    }
    try {
      if (request.action === 'hangup' && (await condition(() => this.ended, HANGUP_CONTROL_WAIT)))
        return { outcome: 'ended', commandKey: key };
      return { outcome: 'sent', commandKey: key };
    } finally {
      if (ending) this.ledger.pending.splice(this.ledger.pending.indexOf(ending), 1);
    }
  }

  // Supervisor controls (`monitor`, `whisper`, `barge`): a third leg on the agent's bridge (src/calls/supervisor.ts).

  /** The supervisor leg on the call, if one is up or ringing. */
  private supervisorLeg(): LegState | undefined {
    return this.state.legs.find((l) => l.role === 'supervisor' && l.status !== 'ended');
  }

  private supervisorFacts(): SupervisorFacts | undefined {
    const leg = this.supervisorLeg();
    return leg?.supervisorRole ? { role: leg.supervisorRole, ...(leg.to ? { to: leg.to } : {}) } : undefined;
  }

  /**
   * Dials the supervisor attached to the agent's leg in the role and waits for it to answer, or switches the
   * supervisor already on the call to the role. The validator has checked the call is bridged.
   */
  private async supervise(request: SupervisorRequest): Promise<ControlResult> {
    const role = request.action;
    // Where a dial bridges exactly two legs (jambonz, SignalWire), supervisors meet the call in a conference.
    const room = this.channel.dialBridges ? await this.roomForSupervisor() : undefined;
    const current = this.supervisorLeg();
    if (current) {
      const { seq, key } = this.begin(`control ${role}`, current.callId);
      try {
        await this.activity('switchSupervisorRole', () =>
          activitiesFor(`control ${role}`).sendCallCommand({
            op: 'switchSupervisorRole',
            role,
            ...(room ? { room, agentCallId: this.state.bridge?.callId } : {}),
            provider: this.provider,
            callId: current.callId,
            commandKey: key,
            ownerWorkflowId: this.workflowId,
          }),
        );
        this.finish(seq, 'sent');
      } catch (err) {
        this.finish(seq, (err as Error).name ?? 'failed');
        throw err;
      }
      current.supervisorRole = role;
      this.ledger.note(`supervisor${current.to ? ` ${current.to}` : ''} switched to ${role}`);
      this.publishDetails();
      return {
        outcome: 'sent',
        commandKey: key,
        supervisor: { callId: current.callId, role, answered: current.status !== 'ringing' },
      };
    }
    const agent = room
      ? { callId: this.state.bridge?.callId ?? '', role: 'agent' }
      : this.state.legs.find(
          (l) => l.callId === this.state.bridge?.callId || (l.role === 'agent' && l.status === 'bridged'),
        );
    if (!agent || agent.role === 'primary')
      throw controlRefused({ kind: 'invalid-state', reason: 'the call is bridged to no leg this session placed' });
    const { seq, key } = this.begin(`control ${role}`, '');
    try {
      const { callId, waiter } = await this.placeLeg('supervisor', seq, key, {
        to: request.to!,
        from: this.state.to,
        timeoutSeconds: SUPERVISOR_RING_SECONDS,
        supervise: { callId: agent.callId, role, ...(room ? { room } : {}) },
      });
      const leg = this.state.legs.find((l) => l.callId === callId)!;
      leg.supervisorRole = role;
      try {
        await condition(() => waiter.event !== undefined || this.ended, SUPERVISOR_RING_SECONDS * 1000);
      } finally {
        this.ledger.pending.splice(this.ledger.pending.indexOf(waiter), 1);
      }
      const answered = waiter.event?.kind === 'call.answered';
      this.finish(seq, answered ? `supervising as ${role}` : 'supervisor did not answer');
      if (answered) this.ledger.note(`supervisor ${request.to} joined as ${role}`);
      // A supervisor who did not pick up in time is not left ringing on the call.
      else await this.dropLeg(callId);
      this.publishDetails();
      return { outcome: 'sent', commandKey: key, supervisor: { callId, role, answered } };
    } catch (err) {
      this.finish(seq, (err as Error).name ?? 'failed');
      throw err;
    }
  }

  /**
   * The conference a supervisor joins on a carrier whose dial bridges two legs only (jambonz, SignalWire),
   * moving the call into it the first time: the agent leaves the dial for the room (ending it when it leaves),
   * and the caller's next document, fetched when its dial ends, joins it too. The bridge lasts until the caller
   * is out of the room (`EventLedger.moveBridgeInto`); the caller hanging up ends the room for everyone.
   */
  private async roomForSupervisor(): Promise<string> {
    const open = this.state.bridge?.room;
    if (open) return open;
    const room = `supervised-${this.state.callId}`;
    this.ledger.moveBridgeInto(room);
    // Queued before the agent moves, so the fetch that the killed dial makes finds it.
    const joining = this.joinRoomInBackground(room, 'the supervised room');
    try {
      await this.command({ op: 'moveToConference', room, otherCallId: this.state.bridge?.callId });
    } catch (err) {
      joining.cancel();
      this.ledger.moveBridgeInto(undefined);
      throw err;
    }
    this.ledger.note('moved into a conference for a supervisor');
    return room;
  }

  /**
   * Runs the flow; a `redirect` control cancels it (every pending operation rejects with a cancellation) and
   * runs the flow it names in this same session, after telling the carrier to stop what the old flow started.
   */
  async runFlow(
    first: Flow,
    context: FlowContext,
    flowNamed: (name: string) => Flow | undefined,
  ): Promise<string | void> {
    let flow = first;
    let flowContext = context;
    for (;;) {
      const scope = new CancellationScope();
      this.flowScope = scope;
      try {
        const result = await scope.run(() => flow(this, flowContext));
        if (!this.pendingRedirect) return result;
      } catch (err) {
        if (!this.pendingRedirect || this.ended || !isCancellation(err)) throw err;
      } finally {
        this.flowScope = undefined;
      }
      const { flow: name, args, interrupted } = this.pendingRedirect;
      this.pendingRedirect = undefined;
      const next = flowNamed(name);
      if (!next) throw new Error(`redirect: no flow named "${name}"`);
      this.redirected = { flow: name, flowArgs: args };
      this.state.flow = name;
      upsertSearchAttributes([{ key: CallFlowKey, value: name }]);
      this.publishDetails();
      await this.stopInterrupted(interrupted);
      flow = next;
      flowContext = { args };
    }
  }

  /**
   * After a redirect: a document carrier is redirected with the new flow's first step (the old step would
   * otherwise run to its end); a command carrier is told to stop the prompt, gather or recording left running.
   */
  private async stopInterrupted(interrupted: readonly string[]): Promise<void> {
    if (interrupted.length === 0) return;
    if (this.channel.runsDocuments) {
      this.channel.abandonStep();
      return;
    }
    const stops = [
      interrupted.includes('gather') && { op: 'stopGather' as const, ...this.targetOf(['gather']) },
      (interrupted.includes('play') || interrupted.includes('say')) && {
        op: 'stopPlayback' as const,
        ...this.targetOf(['play', 'say']),
      },
      interrupted.includes('recordStart') && { op: 'recordStop' as const, ...this.targetOf(['recordStart']) },
    ];
    for (const stop of stops) {
      if (!stop) continue;
      try {
        await this.command(stop);
      } catch (err) {
        if (isCallEnded(err)) throw err;
        // The operation may have ended by itself meanwhile; the new flow starts regardless.
        log.info(`redirect: ${stop.op} failed`, { error: (err as Error)?.message });
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Session lifecycle, used by the workflow function.

  /** Places the primary leg of an outbound call and waits for it to answer or fail. */
  async placePrimary(options: DialOptions): Promise<DialResult> {
    const { seq, key } = this.begin('dial', '');
    const { callId, waiter } = await this.placeLeg('primary', seq, key, {
      ...options,
      from: options.from ?? this.state.from,
    });
    try {
      if (!this.ended) this.setStatus(this.state.answeredAt ? this.state.status : 'ringing');
      await condition(() => waiter.event !== undefined || this.ended, ((options.timeoutSeconds ?? 30) + 60) * 1000, {
        summary: `dialing ${options.to}`,
      });
      const event = waiter.event;
      if (event?.kind === 'call.answered' && !this.ended) {
        this.finish(seq, 'answered');
        return { answered: true, callId };
      }
      if (!this.ended) this.markEnded(event?.kind === 'call.ended' ? event.cause : 'no-answer');
      this.finish(seq, `not answered (${this.state.endCause})`);
      return { answered: false, callId, endCause: this.state.endCause };
    } finally {
      this.ledger.pending.splice(this.ledger.pending.indexOf(waiter), 1);
    }
  }

  /** After the flow: hang up if it did not, and give a running recording a moment to report back. */
  async close(): Promise<void> {
    // The watchdog keeps the hang-up's own wait bounded, then stops.
    if (!this.ended) await this.hangup();
    this.stopWatching();
    if (this.ledger.recordingInProgress)
      await condition(() => !this.ledger.recordingInProgress, 60_000, { summary: 'waiting for the recording' });
    this.state.currentOperation = undefined;
    this.publishDetails();
  }

  /** Marks the call failed for reasons outside the carrier (a flow bug); the call is hung up. */
  noteFlowError(err: unknown): void {
    const message = `flow failed: ${(err as Error)?.message ?? String(err)}`;
    this.ledger.noteError(message);
  }

  // ---------------------------------------------------------------------------------------------
  // Transfers of the bridged call (live controls `transfer` and `warm-transfer`, src/calls/transfer.ts).

  private async transferControl(request: TransferControl): Promise<ControlResult> {
    this.transferUnderWay = true;
    try {
      const outcome =
        request.action === 'transfer' ? await this.blindTransfer(request) : await this.warmTransferStep(request);
      return { outcome, ...(this.state.transfer ? { transfer: this.state.transfer } : {}) };
    } catch (err) {
      // A transfer that failed while dialing is over: the next one must not be refused as "under way".
      if (this.state.transfer?.step === 'dialing')
        this.transferReached('cancelled', `transfer to ${this.state.transfer.to} failed: ${(err as Error)?.message}`);
      throw err;
    } finally {
      this.transferUnderWay = false;
      this.publishDetails();
    }
  }

  /** The leg the caller is bridged to now. */
  private bridgedParty(): LegState | undefined {
    const callId = this.state.bridge?.callId;
    return (
      this.state.legs.find((l) => callId !== undefined && l.callId === callId) ??
      [...this.state.legs].reverse().find((l) => l.role !== 'primary' && l.status !== 'ended')
    );
  }

  /** A warm transfer begins: the agent (the leg the caller is bridged to) is about to consult `to`. */
  private startWarmTransfer(to: string, agent: { callId: string; to?: string }): void {
    this.state.transfer = {
      kind: 'warm',
      to,
      step: 'dialing',
      at: new Date().toISOString(),
      agentCallId: agent.callId,
      ...(agent.to ? { from: agent.to } : {}),
    };
    this.ledger.note(`warm transfer: the agent consults ${to}`);
  }

  /** Moves the transfer to its next step, with a line in the timeline. */
  private transferReached(step: TransferState['step'], text: string, fields: Partial<TransferState> = {}): void {
    this.state.transfer = { ...this.state.transfer!, ...fields, step, at: new Date().toISOString() };
    this.ledger.note(text);
  }

  /**
   * Blind transfer: the caller is connected to `to` and the agent's leg released. Telnyx: Call Control
   * `transfer` of the caller's leg (the carrier dials and bridges), then the agent's leg hung up. Document
   * carriers: the running `connect` / `dial` is left by a redirect (the carrier hangs up the agent's leg) for a
   * new one to `to`; if `to` does not answer, the caller is back with the flow.
   */
  private async blindTransfer(request: Extract<TransferControl, { action: 'transfer' }>): Promise<TransferOutcome> {
    const { to, from, timeoutSeconds = TRANSFER_RING_SECONDS } = request;
    const agent = this.bridgedParty();
    this.state.transfer = {
      kind: 'blind',
      to,
      step: 'dialing',
      at: new Date().toISOString(),
      ...(agent ? { agentCallId: agent.callId, ...(agent.to ? { from: agent.to } : {}) } : {}),
    };
    this.ledger.note(`blind transfer to ${to}`);
    this.ledger.leaveBridgeFor({ address: to });
    let answered: boolean;
    if (this.channel.dialBridges) {
      this.channel.abandonStep();
      // Only the new bridge answers it (the old connect's end arrives while it waits); a failed one is handed back.
      const event = await this.command(
        { op: 'connect', to, from: from ?? this.state.to, timeoutSeconds },
        { terminal: ['bridged'], timeoutMs: (timeoutSeconds + 30) * 1000 },
      );
      answered = event?.kind === 'bridged';
    } else {
      const event = await this.command(
        { op: 'transfer', to, timeoutSeconds, ...(from ? { from } : {}) },
        { terminal: ['bridged'], timeoutMs: (timeoutSeconds + 30) * 1000 },
      );
      answered = event?.kind === 'bridged';
      if (!answered && agent) this.ledger.restoreBridge({ callId: agent.callId, address: agent.to });
      if (answered && agent) await this.dropLeg(agent.callId);
    }
    if (!answered) {
      this.transferReached('not-answered', `transfer to ${to} not answered`);
      return 'not-answered';
    }
    this.transferReached(
      'completed',
      `transferred to ${to}`,
      this.state.bridge?.callId ? { partyCallId: this.state.bridge.callId } : {},
    );
    return 'transferred';
  }

  /**
   * Warm transfer, one step at a time: Telnyx re-bridges the legs; where a dial bridges two legs only (jambonz,
   * SignalWire) the agent and the consulted party meet in a room of their own.
   */
  private async warmTransferStep(
    request: Extract<TransferControl, { action: 'warm-transfer' }>,
  ): Promise<TransferOutcome> {
    const inRoom = this.channel.dialBridges;
    switch (request.step) {
      case 'consult':
        return inRoom ? this.consultInRoom(request) : this.consult(request);
      case 'complete':
        return inRoom ? this.completeInRoom() : this.completeTransfer();
      case 'cancel':
        return inRoom ? this.cancelInRoom() : this.cancelTransfer();
    }
  }

  /**
   * Consult: `to` is dialed; once it answers, the agent's leg is bridged to it (Telnyx moves the agent off the
   * caller's bridge) and the caller, now alone, hears hold music until the transfer is completed or cancelled.
   * Telnyx keeps a leg whose partner is bridged elsewhere only if its own bridge asked `park_after_unbridge`,
   * which the session's bridges do (`bridgeKeepsCaller`); the simulator follows the same rule.
   */
  private async consult(request: Extract<TransferControl, { action: 'warm-transfer' }>): Promise<TransferOutcome> {
    const { to = '', from, timeoutSeconds = TRANSFER_RING_SECONDS, holdMusicUrl } = request;
    const agent = this.bridgedParty();
    if (!agent) throw controlRefused({ kind: 'invalid-state', reason: 'the caller is bridged to no leg of ours' });
    if (!this.state.bridgeKeepsCaller)
      throw controlRefused({
        kind: 'invalid-state',
        reason: "the caller's bridge does not keep the caller (no park_after_unbridge): a consult would hang it up",
      });
    this.startWarmTransfer(to, agent);
    const party = await this.dial({ to, timeoutSeconds, ...(from ? { from } : {}) });
    if (!party.answered) {
      this.transferReached('not-answered', `consult with ${to} not answered`);
      return 'not-answered';
    }
    this.ledger.leaveBridgeFor();
    await this.command(
      { op: 'bridge', otherCallId: party.callId },
      { callId: agent.callId, terminal: ['bridged'], timeoutMs: 30_000 },
    );
    this.setStatus('answered');
    this.transferReached('consulting', `caller on hold while the agent talks to ${to}`, { partyCallId: party.callId });
    await this.say(TRANSFER_HOLD_PROMPT);
    if (holdMusicUrl && this.state.transfer?.step === 'consulting')
      await this.command({ op: 'play', url: holdMusicUrl, loop: TELNYX_MAX_LOOPS });
    return 'consulting';
  }

  /** Complete: the caller is bridged to the consulted party, and the first agent's leg released. */
  private async completeTransfer(): Promise<TransferOutcome> {
    const { to, agentCallId, partyCallId } = this.state.transfer!;
    if (!partyCallId || this.legEnded(undefined, partyCallId))
      throw controlRefused({ kind: 'invalid-state', reason: `${to} has hung up: cancel the transfer` });
    this.ledger.leaveBridgeFor({ callId: partyCallId, address: to });
    await this.command(
      { op: 'bridge', otherCallId: partyCallId, keepOnUnbridge: true },
      { terminal: ['bridged'], timeoutMs: 30_000 },
    );
    if (agentCallId) await this.dropLeg(agentCallId);
    this.transferReached('completed', `warm transfer completed: connected to ${to}`);
    return 'transferred';
  }

  /** Cancel: the consulted party's leg is released and the caller bridged back to the first agent. */
  private async cancelTransfer(): Promise<TransferOutcome> {
    const { to, from, agentCallId, partyCallId } = this.state.transfer!;
    if (!agentCallId || this.legEnded(undefined, agentCallId))
      throw controlRefused({ kind: 'invalid-state', reason: 'the first agent has hung up: complete the transfer' });
    this.ledger.leaveBridgeFor({ callId: agentCallId, ...(from ? { address: from } : {}) });
    await this.command(
      { op: 'bridge', otherCallId: agentCallId, keepOnUnbridge: true },
      { terminal: ['bridged'], timeoutMs: 30_000 },
    );
    if (partyCallId) await this.dropLeg(partyCallId);
    this.transferReached('cancelled', `warm transfer to ${to} cancelled: back with ${from ?? 'the agent'}`);
    return 'returned';
  }

  // Warm transfers in a room (jambonz, SignalWire). The consulted party is dialed into the room `transfer-<call
  // id>` as a plain member; once it answers the agent follows (leaving the caller's dial, which ends) and the
  // caller, back with the session, holds. Complete: the party takes over the agent's part (the room ends when it
  // leaves), the agent is hung up and the caller joins. Cancel: the agent takes its part back, the party is hung
  // up, and the caller joins. Once in the room the caller ends it when it hangs up, as in a supervised room; a
  // caller who hangs up while holding leaves the agent and the party talking, as on Telnyx.

  /** The caller's hold during a consult in a room (prompt, then music): complete and cancel end it. */
  private consultHold?: CancellationScope;

  private transferRoom(): string {
    return `transfer-${this.state.callId}`;
  }

  private async consultInRoom(
    request: Extract<TransferControl, { action: 'warm-transfer' }>,
  ): Promise<TransferOutcome> {
    const { to = '', from, timeoutSeconds = TRANSFER_RING_SECONDS, holdMusicUrl } = request;
    const bridge = this.state.bridge;
    if (!bridge?.callId)
      throw controlRefused({ kind: 'invalid-state', reason: 'the caller is bridged to no leg of ours' });
    const agentCallId = bridge.callId;
    const room = this.transferRoom();
    this.startWarmTransfer(to, { callId: agentCallId, ...(bridge.address ? { to: bridge.address } : {}) });
    // The caller goes on talking to the agent while the party rings in the room.
    const party = await this.placeAgentLeg({
      to,
      from: from ?? this.state.to,
      timeoutSeconds,
      joinRoom: { room, as: 'member' },
    });
    if (!party.answered) {
      this.transferReached('not-answered', `consult with ${to} not answered`);
      return 'not-answered';
    }
    // While it rang, the caller or the agent may have left, or a supervisor moved the call into a room.
    if (this.ended || this.state.status !== 'bridged' || this.state.bridge?.room) {
      await this.dropLeg(party.callId);
      this.transferReached('cancelled', `consult with ${to} given up: the call changed while it rang`);
      if (this.ended) throw new CallEnded(this.state.endCause ?? 'unknown', 'warm-transfer');
      this.refuseConsultInRoom();
      throw controlRefused({
        kind: 'invalid-state',
        reason: `the call is no longer bridged (it is ${this.state.status})`,
      });
    }
    // Queued before the agent moves, so the fetch that the caller's ended dial makes finds it.
    this.holdCallerForConsult(holdMusicUrl);
    try {
      await this.command({ op: 'moveToConference', room, otherCallId: agentCallId, as: 'member' });
    } catch (err) {
      // Nothing moved: the party is released. Where the agent had gone, the dial's end hands the caller back. The
      // hold is taken back but not abandoned: the caller may still be in its dial, which a redirect would end.
      this.consultHold?.cancel();
      this.consultHold = undefined;
      await this.dropLeg(party.callId);
      this.transferReached('cancelled', `consult with ${to} failed: the agent could not be moved`);
      throw err;
    }
    this.ledger.leaveBridgeFor();
    this.setStatus('answered');
    this.transferReached('consulting', `caller on hold while the agent talks to ${to}`, { partyCallId: party.callId });
    return 'consulting';
  }

  /**
   * A member who ends the room cannot hand that over without leaving it, which would end it for everyone (the
   * validator refuses this too; a supervisor's room can appear while the party rings).
   */
  private refuseConsultInRoom(): void {
    const room = this.state.bridge?.room;
    if (room)
      throw controlRefused({
        kind: 'invalid-state',
        reason: `the call is already in a conference (${room}) whose agent ends it on leaving: a consult would end it`,
      });
  }

  /** The hold prompt, then the music if any, on the caller's own document while the agent consults. */
  private holdCallerForConsult(holdMusicUrl: string | undefined): void {
    const hold = new CancellationScope();
    this.consultHold = hold;
    void hold
      .run(async () => {
        await this.say(TRANSFER_HOLD_PROMPT);
        if (holdMusicUrl) await this.play(holdMusicUrl, { loop: HOLD_MUSIC_LOOPS });
      })
      .catch((err: unknown) => {
        if (!isCallEnded(err) && !isCancellation(err))
          log.warn('the consult hold failed', { error: (err as Error)?.message });
      });
  }

  /** Ends the caller's hold: the step it runs is given up, so the next command does not wait for it to play out. */
  private endConsultHold(): void {
    this.consultHold?.cancel();
    this.consultHold = undefined;
    this.channel.abandonStep();
  }

  private async completeInRoom(): Promise<TransferOutcome> {
    const { to, agentCallId, partyCallId } = this.state.transfer!;
    if (!partyCallId || this.legEnded(undefined, partyCallId))
      throw controlRefused({ kind: 'invalid-state', reason: `${to} has hung up: cancel the transfer` });
    const room = this.transferRoom();
    // The party takes over the agent's part first: when the party leaves, the room ends and the caller is back.
    await this.command({ op: 'rejoinConference', room, as: 'agent' }, { callId: partyCallId });
    if (agentCallId) await this.dropLeg(agentCallId, { bridgedByCarrier: true });
    if (this.legEnded(undefined, partyCallId)) {
      // It left the room (ending it) before the caller got there: the caller is back with its flow.
      this.endConsultHold();
      this.transferReached('cancelled', `${to} hung up before the caller joined: back with the flow`);
      throw controlRefused({ kind: 'invalid-state', reason: `${to} hung up before the caller joined` });
    }
    this.callerJoinsRoom(room, { callId: partyCallId, address: to });
    this.transferReached('completed', `warm transfer completed: connected to ${to}`);
    return 'transferred';
  }

  private async cancelInRoom(): Promise<TransferOutcome> {
    const { to, from, agentCallId, partyCallId } = this.state.transfer!;
    if (!agentCallId) throw controlRefused({ kind: 'invalid-state', reason: 'the first agent is unknown' });
    const room = this.transferRoom();
    // The agent takes its part back first (the party, a plain member, keeps the room open meanwhile); if it has
    // gone, nothing changed and the transfer can still be completed.
    try {
      await this.command({ op: 'rejoinConference', room, as: 'agent' }, { callId: agentCallId });
    } catch (err) {
      if (this.ended) throw err;
      throw controlRefused({
        kind: 'invalid-state',
        reason: `the first agent could not rejoin (${(err as Error)?.message}): complete the transfer`,
      });
    }
    if (partyCallId) await this.dropLeg(partyCallId);
    this.callerJoinsRoom(room, { callId: agentCallId, ...(from ? { address: from } : {}) });
    this.transferReached('cancelled', `warm transfer to ${to} cancelled: back with ${from ?? 'the agent'}`);
    return 'returned';
  }

  /**
   * Ends the caller's hold and sends it into the room, bridged (in our state) to `party` until it is out of the
   * room again (`EventLedger.moveBridgeInto`); it ends the room for everyone when it hangs up.
   */
  private callerJoinsRoom(room: string, party: { callId: string; address?: string }): void {
    this.endConsultHold();
    this.ledger.restoreBridge(party);
    this.ledger.moveBridgeInto(room);
    this.setStatus('bridged');
    this.joinRoomInBackground(room, 'the transfer room');
  }

  /**
   * The caller joins `room` (ending it when it hangs up) while the session goes on; the bridge it stands for ends
   * on the caller's `conference.left`. Cancelling the scope takes the join back before it is delivered.
   */
  private joinRoomInBackground(room: string, what: string): CancellationScope {
    const joining = new CancellationScope();
    void joining
      .run(() => this.joinConference(room, { endOnExit: true }))
      .catch((err: unknown) => {
        if (!isCallEnded(err) && !isCancellation(err))
          log.warn(`joining ${what} failed`, { error: (err as Error)?.message });
      });
    return joining;
  }
}

/** How long a transfer's new party rings when the control names no time. */
const TRANSFER_RING_SECONDS = 20;
/** What the caller hears when put on hold for a consult (before any hold music). */
const TRANSFER_HOLD_PROMPT = 'Please hold while we connect you.';
/** The most loops Telnyx `playback_start` takes as a number (`infinity` aside). */
const TELNYX_MAX_LOOPS = 100;
/** Hold music during a consult in a room: as long as Telnyx's (jambonz plays it so often; SignalWire caps the list). */
const HOLD_MUSIC_LOOPS = TELNYX_MAX_LOOPS;

/** A control refused before anything was sent, as the update's failure. */
function controlRefused(refusal: ControlRefusal): ApplicationFailure {
  return ApplicationFailure.create({
    type: CONTROL_REFUSED,
    message: refusal.reason,
    nonRetryable: true,
    details: [refusal],
  });
}

/** A control that failed while being carried out, as an `ApplicationFailure` the gateway can read. */
function controlFailed(err: unknown): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  if (isCallEnded(err)) return controlRefused({ kind: 'call-ended', reason: err.message });
  const type = failureType(err) ?? (err as Error)?.name ?? ErrorType.CarrierRejected;
  const cause = (err as { cause?: Error })?.cause;
  return ApplicationFailure.create({
    type,
    message: cause?.message ?? (err as Error)?.message ?? String(err),
    nonRetryable: true,
  });
}
