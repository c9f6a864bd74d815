import {
  isDialTarget,
  outboundCallWorkflowId,
  resolveQueueConfig,
  type AgentCallEndedReport,
  type AgentChange,
  type CallbackRequest,
  type ChangePriorityRequest,
  type JoinQueueRequest,
  type JoinQueueResult,
  type LeaveQueueReport,
  type OfferResultReport,
  type QueueAgent,
  type QueueCallbackArgs,
  type QueueConfig,
  type QueueEntry,
  type QueueEntryView,
  type QueueNotice,
  type QueuePosition,
  type QueueStatistics,
  type QueueView,
  type RemoveEntryRequest,
  type RequestCallbackReport,
  type SkillRequirements,
} from '../src/calls';

/**
 * The queue's decisions, as plain code: who waits where, which agent is offered whom, what a miss, a
 * hang-up or a callback changes, when deadlines fall due, and the figures. Time comes in as `now` (epoch
 * ms); what the workflow must do (signal a session, start a callback session) comes back as effects. The
 * state is plain JSON, carried across continue-as-new as it is. No workflow API here, so it is unit tested
 * directly (test/unit/workflows/queue-core.test.ts).
 *
 * Invariants: an agent is offered at most one entry at a time (only `available` agents are offered, and
 * an offer makes them `offered`); an entry's place is its (priority, arrival time, arrival order), which a
 * miss, an expired offer or a callback never changes; every report names its offer, so a late or repeated
 * one changes nothing.
 */

export type QueueEffect =
  | { kind: 'notify'; workflowId: string; notice: QueueNotice }
  | {
      kind: 'startCallback';
      ticket: string;
      offerId: string;
      workflowId: string;
      callback: CallbackRequest;
      flow: string;
      flowArgs: QueueCallbackArgs;
    };

/** The statistics' plain counts, kept as they are, plus the running totals the averages come from. */
interface QueueCounters
  extends Pick<
    QueueStatistics,
    | 'offered'
    | 'answered'
    | 'abandoned'
    | 'overflowed'
    | 'removed'
    | 'callbacksRequested'
    | 'callbacksAnswered'
    | 'callbacksFailed'
    | 'missedOffers'
  > {
  answerWaitMsTotal: number;
  handled: number;
  handleMsTotal: number;
}

/** One outcome inside the statistics window. */
interface RecentOutcome {
  at: number;
  kind: 'answered' | 'abandoned' | 'handled';
  ms: number;
}

/** Everything the queue knows: plain JSON, carried across continue-as-new. */
export interface QueueCoreState {
  name: string;
  config: QueueConfig;
  entries: QueueEntry[];
  /** In sign-in order (round-robin goes round this order). */
  agents: QueueAgent[];
  counters: QueueCounters;
  recent: RecentOutcome[];
  /** Tickets that left the line lately, with how: a retried join or a late report is recognised. */
  finished: Array<{ ticket: string; outcome: string }>;
  nextSeq: number;
  nextOfferNumber: number;
  nextCallbackNumber: number;
  lastRoundRobinAgentId?: string;
  runs: number;
  errors: string[];
}

/** A request the queue refuses; the workflow turns it into an `ApplicationFailure` for the update's caller. */
export class QueueRejection extends Error {
  override readonly name = 'QueueRejection';
}

/** Beyond the agent's ring time, how long the queue waits for the session's report before giving up on it. */
export const OFFER_REPORT_GRACE_SECONDS = 10;
/** Offers expiring unreported after which a caller's entry is dropped (its session is presumably gone). */
const MAX_EXPIRED_OFFERS = 2;
const RECENT_LIMIT = 2000;
const FINISHED_LIMIT = 200;
const ERRORS_LIMIT = 20;
const MAX_AGENTS = 500;
const PRIORITY_LIMIT = 1000;

export class QueueCore {
  private constructor(readonly state: QueueCoreState) {}

  /** A new queue, or the one the previous run carried. */
  static start(name: string, config: Partial<QueueConfig>, carried?: unknown): QueueCore {
    if (isCarriedState(carried)) return new QueueCore({ ...carried, runs: carried.runs + 1 });
    return new QueueCore({
      name,
      config: resolveQueueConfig(config),
      entries: [],
      agents: [],
      counters: {
        offered: 0,
        answered: 0,
        abandoned: 0,
        overflowed: 0,
        removed: 0,
        callbacksRequested: 0,
        callbacksAnswered: 0,
        callbacksFailed: 0,
        missedOffers: 0,
        answerWaitMsTotal: 0,
        handled: 0,
        handleMsTotal: 0,
      },
      recent: [],
      finished: [],
      nextSeq: 1,
      nextOfferNumber: 1,
      nextCallbackNumber: 1,
      runs: 1,
      errors: [],
    });
  }

  get config(): QueueConfig {
    return this.state.config;
  }

  // ---- checks (update validators: a refused update leaves no history) ----

  checkJoin(req: JoinQueueRequest): string | undefined {
    if (!req || typeof req.requestId !== 'string' || !req.requestId) return 'requestId is required';
    if (typeof req.sessionWorkflowId !== 'string' || !req.sessionWorkflowId) return 'sessionWorkflowId is required';
    if (req.priority !== undefined && !isPriority(req.priority))
      return `priority must be an integer from -${PRIORITY_LIMIT} to ${PRIORITY_LIMIT}`;
    return checkSkills(req.skills, 'skills');
  }

  checkAgentChange(change: AgentChange): string | undefined {
    if (!change || typeof change.agentId !== 'string' || !change.agentId) return 'agentId is required';
    const agent = this.agent(change.agentId);
    switch (change.op) {
      case 'sign-in':
        if (!isDialTarget(change.address))
          return `address ${JSON.stringify(change.address)} is not a number or SIP URI`;
        if (!agent && this.state.agents.length >= MAX_AGENTS) return `a queue takes at most ${MAX_AGENTS} agents`;
        return checkSkills(change.skills, 'skills');
      case 'sign-out':
      case 'set-state':
      case 'set-skills':
        if (!agent) return `no agent ${change.agentId} in queue ${this.state.name}`;
        if (change.op === 'set-state' && change.state !== 'available' && change.state !== 'break')
          return 'state must be available or break';
        if (change.op === 'set-skills') return checkSkills(change.skills, 'skills');
        return undefined;
      default:
        return `unknown op ${(change as { op?: unknown }).op}`;
    }
  }

  checkTicket(req: ChangePriorityRequest | RemoveEntryRequest): string | undefined {
    if (!req || !this.entry(req.ticket)) return `no ticket ${req?.ticket} waiting in queue ${this.state.name}`;
    if ('priority' in req && !isPriority(req.priority))
      return `priority must be an integer from -${PRIORITY_LIMIT} to ${PRIORITY_LIMIT}`;
    return undefined;
  }

  // ---- sessions ----

  join(req: JoinQueueRequest, now: number): { result: JoinQueueResult; effects: QueueEffect[] } {
    const problem = this.checkJoin(req);
    if (problem) throw new QueueRejection(problem);
    const queue = this.state.name;
    const effects: QueueEffect[] = [];
    if (!this.entry(req.requestId)) {
      const finished = this.state.finished.find((f) => f.ticket === req.requestId);
      if (finished)
        return { result: { kind: 'ended', queue, ticket: req.requestId, outcome: finished.outcome }, effects };
      this.advance(now, effects);
      if (this.state.entries.length >= this.config.maxSize) {
        this.state.counters.overflowed++;
        this.finish(req.requestId, 'overflowed: queue full');
        return { result: { kind: 'overflow', queue, reason: 'full', target: this.config.overflow }, effects };
      }
      this.state.entries.push({
        ticket: req.requestId,
        kind: 'caller',
        sessionWorkflowId: req.sessionWorkflowId,
        priority: req.priority ?? 0,
        arrivedAt: Math.min(req.arrivedAt ?? now, now),
        seq: this.state.nextSeq++,
        skills: { ...(req.skills ?? {}) },
        missedBy: [],
        expiredOffers: 0,
      });
      this.state.counters.offered++;
    }
    this.advance(now, effects);
    const place = this.position(req.requestId, now);
    return {
      result: {
        kind: 'joined',
        queue,
        ticket: req.requestId,
        position: place.position ?? 1,
        ...(place.estimatedWaitSeconds !== undefined ? { estimatedWaitSeconds: place.estimatedWaitSeconds } : {}),
        ...(this.config.holdMusicUrl ? { holdMusicUrl: this.config.holdMusicUrl } : {}),
        announcementIntervalSeconds: this.config.announcementIntervalSeconds,
      },
      effects,
    };
  }

  offerResult(report: OfferResultReport, now: number): QueueEffect[] {
    const effects: QueueEffect[] = [];
    const entry = report ? this.entry(report.ticket) : undefined;
    if (!entry) return this.stale(`offer result for ${report?.ticket}: not waiting`, effects);
    const offer = entry.offer;
    if (!offer || offer.offerId !== report.offerId) {
      // The queue gave up on that offer (no report in time). An agent who answered it anyway keeps the
      // caller if still free; otherwise the session is told to let the agent go.
      const agent = report.agentId ? this.agent(report.agentId) : undefined;
      if (report.outcome === 'answered' && !offer && agent?.state === 'available') {
        this.connect(entry, agent, now);
      } else if (report.outcome === 'answered') {
        effects.push(this.withdrawn(entry, report.offerId, 'the offer had expired'));
        this.noteError(`late answer of ${report.offerId} by ${report.agentId}: withdrawn`);
      } else if (report.outcome === 'caller-gone') {
        this.leaveLine(entry, 'abandoned', now);
      }
      this.advance(now, effects);
      return effects;
    }
    switch (report.outcome) {
      case 'answered': {
        const agent =
          report.agentId && offer.agentIds.includes(report.agentId) ? this.agent(report.agentId) : undefined;
        if (!agent) {
          this.noteError(`answer of ${offer.offerId} names ${report.agentId}, not an agent offered`);
          break;
        }
        this.connect(entry, agent, now);
        break;
      }
      case 'no-answer':
      case 'agent-failed': {
        const missed = (report.agentIds ?? offer.agentIds).filter((id) => offer.agentIds.includes(id));
        for (const id of offer.agentIds) {
          const agent = this.agent(id);
          if (!agent) continue;
          if (missed.includes(id)) this.miss(agent, now);
          else this.release(agent, now);
        }
        entry.offer = undefined;
        entry.missedBy = [...new Set([...entry.missedBy, ...missed])];
        break;
      }
      case 'caller-gone':
        this.leaveLine(entry, 'abandoned', now);
        break;
      case 'customer-no-answer':
        if (entry.kind === 'callback') this.callbackNotReached(entry, now);
        else this.noteError(`customer-no-answer for ${entry.ticket}, which is not a callback`);
        break;
      default:
        this.noteError(`unknown offer outcome ${String(report.outcome)}`);
    }
    this.advance(now, effects);
    return effects;
  }

  agentCallEnded(report: AgentCallEndedReport, now: number): QueueEffect[] {
    const effects: QueueEffect[] = [];
    const agent = report ? this.agent(report.agentId) : undefined;
    if (!agent || agent.state !== 'busy' || agent.call?.offerId !== report.offerId)
      return this.stale(`call end of ${report?.offerId} by ${report?.agentId}: no such call`, effects);
    const handleMs = Math.max(0, now - agent.call.answeredAt);
    const counters = this.state.counters;
    counters.handled++;
    counters.handleMsTotal += handleMs;
    this.remember({ at: now, kind: 'handled', ms: handleMs });
    agent.callsHandled++;
    agent.call = undefined;
    if (this.config.wrapUpSeconds > 0 && agent.pendingState !== 'offline' && agent.pendingState !== 'break') {
      this.setState(agent, 'wrap-up', now);
      agent.wrapUpUntil = now + this.config.wrapUpSeconds * 1000;
    } else {
      this.settle(agent, now, now);
    }
    this.advance(now, effects);
    return effects;
  }

  leave(report: LeaveQueueReport, now: number): QueueEffect[] {
    const effects: QueueEffect[] = [];
    const entry = report ? this.entry(report.ticket) : undefined;
    if (!entry) return this.stale(`leave of ${report?.ticket}: not waiting`, effects);
    this.leaveLine(entry, report.reason === 'left' ? 'left' : 'abandoned', now);
    this.advance(now, effects);
    return effects;
  }

  requestCallback(report: RequestCallbackReport, now: number): QueueEffect[] {
    const effects: QueueEffect[] = [];
    const entry = report ? this.entry(report.ticket) : undefined;
    if (!entry) return this.stale(`callback for ${report?.ticket}: not waiting`, effects);
    const cb = report.callback;
    if (!cb || !isDialTarget(cb.to) || !isDialTarget(cb.from) || typeof cb.provider !== 'string') {
      this.noteError(`callback for ${entry.ticket}: needs provider, and to/from numbers`);
      return effects;
    }
    if (entry.kind === 'callback') return effects;
    // The caller is leaving the line: an agent ringing for them now is let go (not their miss).
    if (entry.offer) {
      for (const id of entry.offer.agentIds) this.releaseIfOffered(id, entry.offer.offerId, now);
      entry.offer = undefined;
    }
    entry.kind = 'callback';
    entry.callback = {
      provider: cb.provider,
      to: cb.to,
      from: cb.from,
      ...(Array.isArray(cb.documentOps) ? { documentOps: cb.documentOps } : {}),
      requestedAt: now,
      attempts: 0,
    };
    this.state.counters.callbacksRequested++;
    this.advance(now, effects);
    return effects;
  }

  /** A notice could not reach its session (it has ended): the caller is gone. */
  noticeUndeliverable(notice: QueueNotice, now: number): QueueEffect[] {
    const effects: QueueEffect[] = [];
    const entry = this.entry(notice.ticket);
    if (entry && entry.kind === 'caller') this.leaveLine(entry, 'abandoned', now);
    this.advance(now, effects);
    return effects;
  }

  /** Starting a callback session failed: counts as an attempt that did not reach the customer. */
  callbackStartFailed(ticket: string, offerId: string, now: number): QueueEffect[] {
    const effects: QueueEffect[] = [];
    const entry = this.entry(ticket);
    if (entry?.kind === 'callback' && entry.offer?.offerId === offerId) this.callbackNotReached(entry, now);
    this.advance(now, effects);
    return effects;
  }

  // ---- people running the queue ----

  changeAgent(change: AgentChange, now: number): { agent: QueueAgent; effects: QueueEffect[] } {
    const problem = this.checkAgentChange(change);
    if (problem) throw new QueueRejection(problem);
    const effects: QueueEffect[] = [];
    let agent = this.agent(change.agentId);
    switch (change.op) {
      case 'sign-in':
        if (!agent) {
          agent = {
            id: change.agentId,
            address: change.address,
            skills: { ...(change.skills ?? {}) },
            state: 'available',
            since: now,
            callsHandled: 0,
            consecutiveMisses: 0,
          };
          this.state.agents.push(agent);
        } else {
          agent.address = change.address;
          if (change.skills) agent.skills = { ...change.skills };
          if (agent.state === 'offline') this.makeAvailable(agent, now);
          else if (agent.pendingState === 'offline') agent.pendingState = undefined;
        }
        break;
      case 'sign-out':
        agent = agent!;
        if (agent.state === 'offered' || agent.state === 'busy') agent.pendingState = 'offline';
        else this.setState(agent, 'offline', now);
        break;
      case 'set-state':
        agent = agent!;
        if (agent.state === 'offered' || agent.state === 'busy') agent.pendingState = change.state;
        else if (change.state === 'available') this.makeAvailable(agent, now);
        else {
          this.setState(agent, 'break', now);
          agent.breakReason = change.reason ?? 'asked';
        }
        break;
      case 'set-skills':
        agent = agent!;
        agent.skills = { ...change.skills };
        break;
    }
    this.advance(now, effects);
    return { agent, effects };
  }

  changePriority(req: ChangePriorityRequest, now: number): { position: QueuePosition; effects: QueueEffect[] } {
    const problem = this.checkTicket(req);
    if (problem) throw new QueueRejection(problem);
    const effects: QueueEffect[] = [];
    this.entry(req.ticket)!.priority = req.priority;
    this.advance(now, effects);
    return { position: this.position(req.ticket, now), effects };
  }

  removeEntry(req: RemoveEntryRequest, now: number): { position: QueuePosition; effects: QueueEffect[] } {
    const problem = this.checkTicket(req);
    if (problem) throw new QueueRejection(problem);
    const effects: QueueEffect[] = [];
    const entry = this.entry(req.ticket)!;
    const reason = req.reason ?? 'removed by an operator';
    this.dropOffer(entry, now);
    this.removeFromLine(entry, `removed: ${reason}`);
    this.state.counters.removed++;
    if (entry.kind === 'caller') effects.push(this.notice(entry, { kind: 'removed', reason }));
    this.advance(now, effects);
    return { position: this.position(req.ticket, now), effects };
  }

  configure(config: Partial<QueueConfig>, now: number): { config: QueueConfig; effects: QueueEffect[] } {
    const effects: QueueEffect[] = [];
    this.state.config = resolveQueueConfig({ ...this.state.config, ...config });
    this.advance(now, effects);
    return { config: this.state.config, effects };
  }

  // ---- time ----

  /** Applies what fell due by `now` (expired offers, wrap-ups, max waits, callback delays) and offers agents. */
  tick(now: number): QueueEffect[] {
    const effects: QueueEffect[] = [];
    this.advance(now, effects);
    return effects;
  }

  /** The earliest time something falls due, for the workflow's one timer; undefined: nothing pending. */
  nextDeadline(): number | undefined {
    let next: number | undefined;
    const consider = (at: number | undefined) => {
      if (at !== undefined && (next === undefined || at < next)) next = at;
    };
    for (const e of this.state.entries) {
      if (e.offer) consider(e.offer.deadline);
      else if (e.kind === 'caller') consider(e.arrivedAt + this.config.maxWaitSeconds * 1000);
      else consider(e.callback?.notBefore);
    }
    for (const a of this.state.agents) if (a.state === 'wrap-up') consider(a.wrapUpUntil);
    return next;
  }

  // ---- reading ----

  /** Entries in the order they are served: priority (high first), then arrival. */
  ordered(): QueueEntry[] {
    return [...this.state.entries].sort(
      (a, b) => b.priority - a.priority || a.arrivedAt - b.arrivedAt || a.seq - b.seq,
    );
  }

  position(ticket: string, now: number): QueuePosition {
    const queue = this.state.name;
    const line = this.ordered();
    const index = line.findIndex((e) => e.ticket === ticket);
    if (index < 0) return { queue, ticket, status: 'gone' };
    const entry = line[index];
    const estimate = this.estimateWaitMs(entry, line, now);
    return {
      queue,
      ticket,
      status: statusOf(entry),
      position: index + 1,
      waitedSeconds: Math.max(0, Math.round((now - entry.arrivedAt) / 1000)),
      ...(estimate !== undefined ? { estimatedWaitSeconds: Math.round(estimate / 1000) } : {}),
    };
  }

  view(now: number): QueueView {
    const line = this.ordered();
    const waiting: QueueEntryView[] = line.map((e, i) => {
      const estimate = this.estimateWaitMs(e, line, now);
      return {
        position: i + 1,
        ticket: e.ticket,
        kind: e.kind,
        status: statusOf(e),
        sessionWorkflowId: e.sessionWorkflowId,
        priority: e.priority,
        skills: e.skills,
        arrivedAt: new Date(e.arrivedAt).toISOString(),
        waitedSeconds: Math.max(0, Math.round((now - e.arrivedAt) / 1000)),
        ...(estimate !== undefined ? { estimatedWaitSeconds: Math.round(estimate / 1000) } : {}),
        ...(e.offer ? { offeredTo: e.offer.agentIds, offerId: e.offer.offerId } : {}),
        ...(e.callback ? { callbackAttempts: e.callback.attempts } : {}),
      };
    });
    return {
      name: this.state.name,
      config: this.config,
      at: new Date(now).toISOString(),
      waiting,
      agents: this.state.agents,
      stats: this.statistics(now),
      runs: this.state.runs,
      errors: this.state.errors,
    };
  }

  statistics(now: number): QueueStatistics {
    const c = this.state.counters;
    const windowMs = this.config.statsWindowSeconds * 1000;
    const recent = this.state.recent.filter((r) => r.at > now - windowMs);
    const answered = recent.filter((r) => r.kind === 'answered');
    const abandoned = recent.filter((r) => r.kind === 'abandoned');
    const handled = recent.filter((r) => r.kind === 'handled');
    const thresholdMs = this.config.serviceLevelSeconds * 1000;
    const counted = answered.length + abandoned.filter((r) => r.ms > thresholdMs).length;
    const callers = this.state.entries.filter((e) => e.kind === 'caller');
    return {
      offered: c.offered,
      answered: c.answered,
      abandoned: c.abandoned,
      overflowed: c.overflowed,
      removed: c.removed,
      callbacksRequested: c.callbacksRequested,
      callbacksAnswered: c.callbacksAnswered,
      callbacksFailed: c.callbacksFailed,
      missedOffers: c.missedOffers,
      ...optional('averageSpeedOfAnswerSeconds', c.answered ? c.answerWaitMsTotal / c.answered / 1000 : undefined),
      ...optional('averageHandleSeconds', c.handled ? c.handleMsTotal / c.handled / 1000 : undefined),
      windowSeconds: this.config.statsWindowSeconds,
      windowAnswered: answered.length,
      windowAbandoned: abandoned.length,
      ...optional('windowAverageSpeedOfAnswerSeconds', averageSeconds(answered)),
      ...optional('windowAverageHandleSeconds', averageSeconds(handled)),
      ...optional('serviceLevel', counted ? answered.filter((r) => r.ms <= thresholdMs).length / counted : undefined),
      waiting: this.state.entries.length,
      longestWaitSeconds: callers.reduce((m, e) => Math.max(m, Math.round((now - e.arrivedAt) / 1000)), 0),
    };
  }

  // ---- internals ----

  private entry(ticket: string | undefined): QueueEntry | undefined {
    return this.state.entries.find((e) => e.ticket === ticket);
  }

  private agent(id: string | undefined): QueueAgent | undefined {
    return this.state.agents.find((a) => a.id === id);
  }

  /** What falls due, then offers: every change ends here, so the line never waits with a free agent. */
  private advance(now: number, effects: QueueEffect[]): void {
    this.settleDue(now, effects);
    this.match(now, effects);
  }

  private settleDue(now: number, effects: QueueEffect[]): void {
    for (const agent of this.state.agents) {
      if (agent.state === 'wrap-up' && agent.wrapUpUntil !== undefined && agent.wrapUpUntil <= now) {
        agent.wrapUpUntil = undefined;
        this.settle(agent, now, now);
      }
    }
    for (const entry of [...this.state.entries]) {
      if (entry.offer && entry.offer.deadline <= now) {
        const { offerId } = entry.offer;
        this.dropOffer(entry, now);
        if (entry.kind === 'callback') {
          this.callbackNotReached(entry, now);
        } else if (++entry.expiredOffers >= MAX_EXPIRED_OFFERS) {
          this.noteError(`${entry.ticket}: offers expired unreported ${entry.expiredOffers} times; dropped`);
          this.leaveLine(entry, 'abandoned', now);
          effects.push(this.notice(entry, { kind: 'removed', reason: 'offers went unreported' }));
        } else {
          effects.push(this.withdrawn(entry, offerId, 'no report within the ring time'));
        }
        continue;
      }
      if (entry.kind === 'caller' && !entry.offer && now - entry.arrivedAt >= this.config.maxWaitSeconds * 1000) {
        this.removeFromLine(entry, 'overflowed: max wait');
        this.state.counters.overflowed++;
        effects.push(this.notice(entry, { kind: 'overflow', reason: 'max-wait', target: this.config.overflow }));
        continue;
      }
      if (entry.callback?.notBefore !== undefined && entry.callback.notBefore <= now)
        entry.callback.notBefore = undefined;
    }
  }

  private match(now: number, effects: QueueEffect[]): void {
    for (const entry of this.ordered()) {
      if (entry.offer || entry.callback?.notBefore !== undefined) continue;
      const eligible = this.state.agents.filter((a) => a.state === 'available' && qualifies(a, entry.skills));
      if (eligible.length === 0) continue;
      // Agents who missed this caller go last: the next offer goes to someone else if anyone can take it.
      const fresh = eligible.filter((a) => !entry.missedBy.includes(a.id));
      const pool = fresh.length > 0 ? fresh : eligible;
      const strategy =
        entry.kind === 'callback' && this.config.strategy === 'ring-all' ? 'longest-idle' : this.config.strategy;
      const chosen =
        strategy === 'ring-all' ? pool : [strategy === 'round-robin' ? this.nextInTurn(pool) : longestIdle(pool)];
      effects.push(this.offer(entry, chosen, now));
    }
  }

  private nextInTurn(pool: QueueAgent[]): QueueAgent {
    const agents = this.state.agents;
    const last = agents.findIndex((a) => a.id === this.state.lastRoundRobinAgentId);
    for (let step = 1; step <= agents.length; step++) {
      const candidate = agents[(last + step) % agents.length];
      if (pool.includes(candidate)) {
        this.state.lastRoundRobinAgentId = candidate.id;
        return candidate;
      }
    }
    return pool[0];
  }

  private offer(entry: QueueEntry, agents: QueueAgent[], now: number): QueueEffect {
    const offerId = `${entry.ticket}/offer-${this.state.nextOfferNumber++}`;
    const callback = entry.kind === 'callback' ? entry.callback : undefined;
    const seconds = callback
      ? this.config.callbackOfferTimeoutSeconds
      : this.config.agentRingTimeoutSeconds + OFFER_REPORT_GRACE_SECONDS;
    entry.offer = { offerId, agentIds: agents.map((a) => a.id), offeredAt: now, deadline: now + seconds * 1000 };
    for (const agent of agents) {
      agent.offer = { ticket: entry.ticket, offerId, idleSince: agent.since };
      this.setState(agent, 'offered', now);
    }
    if (!callback) {
      return this.notice(entry, {
        kind: 'offer',
        offerId,
        agents: agents.map((a) => ({ agentId: a.id, address: a.address })),
        ringTimeoutSeconds: this.config.agentRingTimeoutSeconds,
      });
    }
    callback.attempts++;
    const agent = agents[0];
    return {
      kind: 'startCallback',
      ticket: entry.ticket,
      offerId,
      workflowId: outboundCallWorkflowId(
        callback.provider,
        `queue-${this.state.name}-cb${this.state.nextCallbackNumber++}`,
      ),
      callback: {
        provider: callback.provider,
        to: callback.to,
        from: callback.from,
        ...(callback.documentOps ? { documentOps: callback.documentOps } : {}),
      },
      flow: this.config.callbackFlow,
      flowArgs: {
        queue: this.state.name,
        ticket: entry.ticket,
        offerId,
        agentId: agent.id,
        agentAddress: agent.address,
        ringTimeoutSeconds: this.config.agentRingTimeoutSeconds,
        attempt: callback.attempts,
      },
    };
  }

  private connect(entry: QueueEntry, agent: QueueAgent, now: number): void {
    if (entry.offer) {
      for (const id of entry.offer.agentIds) if (id !== agent.id) this.releaseIfOffered(id, entry.offer.offerId, now);
    }
    const offerId = entry.offer?.offerId ?? agent.offer?.offerId ?? `${entry.ticket}/late`;
    agent.offer = undefined;
    this.setState(agent, 'busy', now);
    agent.call = { ticket: entry.ticket, offerId, answeredAt: now };
    agent.consecutiveMisses = 0;
    const waitMs = Math.max(0, now - entry.arrivedAt);
    const counters = this.state.counters;
    counters.answered++;
    counters.answerWaitMsTotal += waitMs;
    if (entry.kind === 'callback') counters.callbacksAnswered++;
    this.remember({ at: now, kind: 'answered', ms: waitMs });
    this.removeFromLine(entry, `answered by ${agent.id}`);
  }

  private miss(agent: QueueAgent, now: number): void {
    agent.offer = undefined;
    agent.consecutiveMisses++;
    this.state.counters.missedOffers++;
    if (agent.consecutiveMisses >= this.config.maxConsecutiveMisses) {
      agent.pendingState = undefined;
      this.setState(agent, 'break', now);
      agent.breakReason = 'missed-offers';
    } else {
      // A miss sends the agent to the back of the idle order.
      this.settle(agent, now, now);
    }
  }

  /** An offered agent freed through no fault of theirs: idle since as before the offer. */
  private release(agent: QueueAgent, now: number): void {
    const idleSince = agent.offer?.idleSince ?? now;
    agent.offer = undefined;
    this.settle(agent, now, idleSince);
  }

  private releaseIfOffered(agentId: string, offerId: string, now: number): void {
    const agent = this.agent(agentId);
    if (agent?.state === 'offered' && agent.offer?.offerId === offerId) this.release(agent, now);
  }

  private dropOffer(entry: QueueEntry, now: number): void {
    if (!entry.offer) return;
    for (const id of entry.offer.agentIds) this.releaseIfOffered(id, entry.offer.offerId, now);
    entry.offer = undefined;
  }

  private callbackNotReached(entry: QueueEntry, now: number): void {
    this.dropOffer(entry, now);
    const callback = entry.callback!;
    if (callback.attempts >= this.config.callbackMaxAttempts) {
      this.state.counters.callbacksFailed++;
      this.removeFromLine(entry, `callback failed after ${callback.attempts} attempts`);
      return;
    }
    callback.notBefore = now + this.config.callbackRetryDelaySeconds * 1000 * 2 ** (callback.attempts - 1);
  }

  private leaveLine(entry: QueueEntry, how: 'abandoned' | 'left', now: number): void {
    this.dropOffer(entry, now);
    this.state.counters.abandoned++;
    this.remember({ at: now, kind: 'abandoned', ms: Math.max(0, now - entry.arrivedAt) });
    this.removeFromLine(entry, how);
  }

  private removeFromLine(entry: QueueEntry, outcome: string): void {
    this.state.entries = this.state.entries.filter((e) => e !== entry);
    this.finish(entry.ticket, outcome);
  }

  /** The agent's next state once an offer or call is over: what they asked for meanwhile, else available. */
  private settle(agent: QueueAgent, now: number, idleSince: number): void {
    const pending = agent.pendingState;
    agent.pendingState = undefined;
    if (pending === 'offline' || pending === 'break') {
      this.setState(agent, pending, now);
      if (pending === 'break') agent.breakReason = 'asked';
      return;
    }
    this.setState(agent, 'available', now);
    agent.since = idleSince;
  }

  private makeAvailable(agent: QueueAgent, now: number): void {
    agent.consecutiveMisses = 0;
    agent.wrapUpUntil = undefined;
    this.setState(agent, 'available', now);
  }

  private setState(agent: QueueAgent, state: QueueAgent['state'], now: number): void {
    agent.state = state;
    agent.since = now;
    if (state !== 'break') agent.breakReason = undefined;
    if (state !== 'wrap-up') agent.wrapUpUntil = undefined;
  }

  /**
   * When an agent able to take `entry` should be free, having served those ahead of it: each eligible
   * agent's free time (now if available or ringing, the expected end of a call, the end of a wrap-up), and
   * each entry ahead that could use one of them takes the earliest for a handle time plus wrap-up.
   */
  private estimateWaitMs(entry: QueueEntry, line: QueueEntry[], now: number): number | undefined {
    if (entry.offer) return 0;
    const eligible = this.state.agents.filter(
      (a) => a.state !== 'offline' && a.state !== 'break' && qualifies(a, entry.skills),
    );
    if (eligible.length === 0) return undefined;
    const handleMs = this.expectedHandleMs(now);
    const cycleMs = handleMs + this.config.wrapUpSeconds * 1000;
    const freeAt = new Map<QueueAgent, number>();
    for (const a of eligible) {
      if (a.state === 'busy')
        freeAt.set(a, Math.max(now, (a.call?.answeredAt ?? now) + handleMs) + this.config.wrapUpSeconds * 1000);
      else if (a.state === 'wrap-up') freeAt.set(a, Math.max(now, a.wrapUpUntil ?? now));
      else freeAt.set(a, now);
    }
    for (const ahead of line) {
      if (ahead === entry) break;
      if (ahead.callback?.notBefore !== undefined) continue;
      let earliest: QueueAgent | undefined;
      for (const a of eligible) {
        if (!qualifies(a, ahead.skills)) continue;
        if (!earliest || freeAt.get(a)! < freeAt.get(earliest)!) earliest = a;
      }
      if (earliest) freeAt.set(earliest, freeAt.get(earliest)! + cycleMs);
    }
    const first = Math.min(...freeAt.values());
    return Math.max(0, first - now);
  }

  private expectedHandleMs(now: number): number {
    const windowMs = this.config.statsWindowSeconds * 1000;
    const handled = this.state.recent.filter((r) => r.kind === 'handled' && r.at > now - windowMs);
    if (handled.length > 0) return handled.reduce((s, r) => s + r.ms, 0) / handled.length;
    const c = this.state.counters;
    return c.handled > 0 ? c.handleMsTotal / c.handled : this.config.defaultHandleSeconds * 1000;
  }

  private notice(entry: QueueEntry, body: DistributiveOmit<QueueNotice, 'queue' | 'ticket'>): QueueEffect {
    return {
      kind: 'notify',
      workflowId: entry.sessionWorkflowId,
      notice: { ...body, queue: this.state.name, ticket: entry.ticket } as QueueNotice,
    };
  }

  private withdrawn(entry: QueueEntry, offerId: string, reason: string): QueueEffect {
    return this.notice(entry, { kind: 'offer-withdrawn', offerId, reason });
  }

  private stale(message: string, effects: QueueEffect[]): QueueEffect[] {
    // Late and repeated reports are expected (at-least-once delivery); note them, change nothing.
    this.noteError(message);
    return effects;
  }

  private remember(outcome: RecentOutcome): void {
    const windowStart = outcome.at - this.config.statsWindowSeconds * 1000;
    this.state.recent = [...this.state.recent.filter((r) => r.at > windowStart), outcome].slice(-RECENT_LIMIT);
  }

  private finish(ticket: string, outcome: string): void {
    this.state.finished = [...this.state.finished, { ticket, outcome }].slice(-FINISHED_LIMIT);
  }

  private noteError(message: string): void {
    this.state.errors = [...this.state.errors, message].slice(-ERRORS_LIMIT);
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

function statusOf(entry: QueueEntry): QueuePosition['status'] {
  if (entry.offer) return 'offered';
  return entry.kind === 'callback' ? 'callback-scheduled' : 'waiting';
}

/** An agent qualifies with every required skill at the required level or above. */
export function qualifies(agent: QueueAgent, required: SkillRequirements): boolean {
  return Object.entries(required).every(([skill, level]) => (agent.skills[skill] ?? -Infinity) >= level);
}

function longestIdle(pool: QueueAgent[]): QueueAgent {
  return pool.reduce((best, a) => (a.since < best.since ? a : best));
}

function isPriority(value: unknown): value is number {
  return Number.isInteger(value) && Math.abs(value as number) <= PRIORITY_LIMIT;
}

function checkSkills(skills: unknown, what: string): string | undefined {
  if (skills === undefined) return undefined;
  if (typeof skills !== 'object' || skills === null || Array.isArray(skills))
    return `${what} must map skill names to levels`;
  for (const [name, level] of Object.entries(skills)) {
    if (typeof level !== 'number' || !Number.isFinite(level)) return `${what}.${name} must be a number`;
  }
  return undefined;
}

function averageSeconds(outcomes: RecentOutcome[]): number | undefined {
  return outcomes.length ? outcomes.reduce((s, r) => s + r.ms, 0) / outcomes.length / 1000 : undefined;
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

function isCarriedState(value: unknown): value is QueueCoreState {
  const s = value as QueueCoreState | undefined;
  return !!s && typeof s === 'object' && Array.isArray(s.entries) && Array.isArray(s.agents) && !!s.counters;
}
