import { isJsonObject } from './http';

/**
 * The scripted people every simulator plays: callers who reach our service (`POST /_sim/calls`) and agents at
 * the numbers our service dials. Durations are simulated milliseconds (see `clock.ts`).
 */

export interface CallerScript {
  from: string;
  to: string;
  /** Digits pressed at each successive gather, after its prompt; null = silent (it times out). Exhausted = silent. */
  presses?: Array<string | null>;
  /** The caller hangs up this long after the call was answered. */
  hangupAfterMs?: number;
  /** The caller hangs up while the prompt of the Nth (0-based) gather plays. */
  hangupDuringPrompt?: number;
  /** When a recording starts, the caller talks this long and then hangs up. */
  voicemail?: { talkMs: number };
  /** The caller gives up (`originator_cancel`) if the call is not answered within this long. @default SIM_MS.callerGivesUp */
  giveUpAfterMs?: number;
}

export interface AgentScript {
  behaviour: 'answer' | 'busy' | 'no-answer';
  /** @default SIM_MS.defaultAnswerAfter */
  answerAfterMs?: number;
  /** The agent hangs up this long after answering. */
  hangupAfterMs?: number;
  /** What answering-machine detection finds when the app asks for it. @default 'human' */
  answeredBy?: 'human' | 'machine';
}

/**
 * The agents of `npm run demo`'s `support` queue, known to every simulator without a script of their own:
 * they answer and end the call after 8 s (simulated), so a demo run's calls all come to an end.
 */
export const DEMO_QUEUE_AGENTS: Readonly<Record<string, AgentScript>> = {
  '+15550003901': { behaviour: 'answer', hangupAfterMs: 8000 },
  '+15550003902': { behaviour: 'answer', hangupAfterMs: 8000 },
};

/** The script for a number our service dials: the configured one, else a demo agent's, else none. */
export function scriptedAgent(agents: Record<string, AgentScript>, number: string): AgentScript | undefined {
  return agents[number] ?? DEMO_QUEUE_AGENTS[number];
}

/** A recording the simulator made; its URL serves silence of this length (`audio.ts`). */
export interface SimRecording {
  recordingId: string;
  url: string;
  /** Wall-clock length, matching `recording_ended_at - recording_started_at` in the webhook. */
  durationMs: number;
}

/** A CallerScript from JSON, or what is wrong with it. */
export function parseCallerScript(input: unknown): CallerScript | string {
  if (!isJsonObject(input)) return 'body must be a JSON object';
  const { from, to, presses, hangupAfterMs, hangupDuringPrompt, voicemail, giveUpAfterMs } = input;
  if (typeof from !== 'string' || typeof to !== 'string') return '`from` and `to` must be strings';
  if (presses !== undefined && !(Array.isArray(presses) && presses.every((p) => p === null || typeof p === 'string'))) {
    return '`presses` must be an array of strings and nulls';
  }
  for (const [name, value] of Object.entries({ hangupAfterMs, hangupDuringPrompt, giveUpAfterMs })) {
    if (value !== undefined && (typeof value !== 'number' || value < 0))
      return `\`${name}\` must be a non-negative number`;
  }
  if (voicemail !== undefined && !(isJsonObject(voicemail) && typeof voicemail.talkMs === 'number')) {
    return '`voicemail` must be {talkMs: number}';
  }
  return input as unknown as CallerScript;
}
