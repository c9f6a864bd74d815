import type { AgentScript } from '../scripts';
import type { CallHost, SimCall } from './call';
import { SIM_MS, type Timers } from '../clock';

/**
 * A leg jambonz places (createCall, or a `dial` target), played by a scripted agent: it rings, then
 * answers, is busy or rings on until jambonz cancels it; once answered the agent may hang up.
 */

export interface OutboundLegEvents {
  answered(): void;
  /** Busy, cancelled or failed: the leg is over without an answer (its status was reported). */
  failed(): void;
  /** The answered agent hung up. The listener ends the leg (a dial reports it; a session hangs up). */
  farEndHungUp(): void;
}

export class OutboundLeg {
  private state: 'ringing' | 'answered' | 'over' = 'ringing';
  private readonly timers: Timers;

  constructor(
    private readonly engine: CallHost,
    readonly call: SimCall,
    private readonly agent: AgentScript,
    private events: OutboundLegEvents,
  ) {
    this.timers = engine.newTimers();
  }

  get answered(): boolean {
    return this.state === 'answered';
  }

  /** The INVITE goes out: trying now, 180 shortly after, then whatever the agent does. */
  start(): void {
    this.engine.changeStatus(this.call, 'trying', 100, 'Trying');
    this.timers.after(SIM_MS.ringing, () => {
      if (this.state === 'ringing') this.engine.changeStatus(this.call, 'ringing', 180, 'Ringing');
    });
    switch (this.agent.behaviour) {
      case 'answer':
        this.timers.after(this.agent.answerAfterMs ?? SIM_MS.defaultAnswerAfter, () => this.answer());
        break;
      case 'busy':
        this.timers.after(SIM_MS.busyAfter, () => this.fail('busy', 486, 'Busy Here', 'busy'));
        break;
      case 'no-answer':
        break; // rings until jambonz gives up
    }
  }

  /** Sends the leg's events somewhere else (a dialed leg that got its own session). */
  retarget(events: OutboundLegEvents): void {
    this.events = events;
  }

  /** CANCEL while ringing (ring timeout, the dial ended, Live Call Control `no-answer`). */
  cancel(): void {
    if (this.state === 'ringing') this.fail('no-answer', 487, 'Request Terminated', 'cancelled while ringing');
  }

  /** jambonz sends BYE to the answered leg. */
  hangUp(note: string): void {
    if (this.state !== 'answered') return;
    this.over();
    this.engine.endAnswered(this.call, 'jambonz', note);
  }

  /** The agent is gone with the call, whoever ended it. */
  over(): void {
    this.state = 'over';
    this.timers.clear();
  }

  private answer(): void {
    if (this.state !== 'ringing') return;
    this.state = 'answered';
    this.call.answeredAt = Date.now();
    this.engine.changeStatus(this.call, 'in-progress', 200, 'OK');
    this.call.milestones.push('answered');
    if (this.agent.hangupAfterMs !== undefined) {
      this.timers.after(this.agent.hangupAfterMs, () => {
        if (this.state !== 'answered') return;
        this.over();
        this.events.farEndHungUp();
      });
    }
    this.events.answered();
  }

  private fail(status: 'busy' | 'no-answer', sipStatus: number, sipReason: string, note: string): void {
    this.over();
    this.engine.changeStatus(this.call, status, sipStatus, sipReason);
    this.call.markEnded(note);
    this.events.failed();
  }
}
