/**
 * Conferences as jambonz (`conference` verb; `conf:<account_sid>:<name>` on the feature server) and SignalWire
 * (SWML `join_conference`) run them: the first member starts one, later members join it; it ends when its last
 * member leaves, or when a member that ends it on exit (`endConferenceOnExit`, `end_on_exit`) leaves, and then
 * every member still in it is dropped from it (its verb or method ends). Waiting for a moderator (a member that
 * does not start the conference when none runs) is not simulated: every member starts or joins at once.
 */

export interface ConferenceMember {
  readonly callSid: string;
  readonly endsConference: boolean;
  /** The conference ended under this member. */
  readonly dropped: () => void;
}

export class Conferences {
  private readonly rooms = new Map<string, Set<ConferenceMember>>();

  /** Adds the member (starting the conference if needed); returns how it leaves. */
  join(name: string, member: ConferenceMember): () => void {
    const room = this.rooms.get(name) ?? new Set<ConferenceMember>();
    this.rooms.set(name, room);
    room.add(member);
    return () => this.leave(name, member);
  }

  /** Members in a conference now (0 when none runs). */
  size(name: string): number {
    return this.rooms.get(name)?.size ?? 0;
  }

  private leave(name: string, member: ConferenceMember): void {
    const room = this.rooms.get(name);
    if (!room?.delete(member)) return;
    if (room.size > 0 && !member.endsConference) return;
    this.rooms.delete(name);
    for (const other of room) other.dropped();
  }
}
