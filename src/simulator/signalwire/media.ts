import { randomUUID } from 'node:crypto';
import { Agent, request } from 'undici';
import { pdfPageCount } from './fax-document';
import { SIM_MS as SHARED_SIM_MS, type SimClock } from '../clock';
import { Interrupted, type Leg } from './leg';

/**
 * What happens on the media path of a leg, shared by SWML methods and REST commands: sounds playing,
 * the far end pressing digits, talking into a recording, answering-machine and fax detection, and fax
 * pages going across. Every duration is simulated time.
 */

export const SIM_MS = {
  ...SHARED_SIM_MS,
  /** `ring:<country>` without a duration: one ring. */
  oneRing: 2_000,
  /** One DTMF tone sent by `send_digits`; `w` and `W` are 500 ms and 1 s pauses (SWML docs). */
  dtmfTone: 100,
  /** A voicemail caller hangs up this long after the recorder stopped on their silence. */
  callerLeavesAfterMessage: 1_000,
  faxToneDetected: 1_000,
  /** Fax handshake before the first page, then each page. */
  faxTraining: 2_000,
  faxPage: 3_000,
  /** How long a fax station waits for fax tones from a far end that turns out not to be a fax machine. */
  faxNoTone: 5_000,
  /** A fax machine hangs up this long after the last page (time enough for the document's next fetch). */
  faxStationHangsUp: 1_000,
} as const;

/** Fax result codes, from SignalWire's FreeSWITCH `fax_result_code` catalogue (spandsp T.30). */
export const FAX_RESULTS = {
  ok: { code: 0, text: 'OK' },
  notAFax: { code: 2, text: 'Timed out waiting for initial communication' },
  sendBroken: { code: 21, text: 'No response after sending a page' },
  receiveBroken: { code: 26, text: 'Carrier lost during fax receive' },
} as const;

/** Pages a fax has when neither its script nor its document says. */
export const DEFAULT_FAX_PAGES = 3;
const DOCUMENT_FETCH_TIMEOUT_MS = 5_000;

export interface Sound {
  /** What the far end hears, as `heard` records it: spoken text or an audio URL; silence and rings are not listed. */
  heard?: string;
  durationMs: number;
}

const sayDuration = (text: string) => Math.max(SIM_MS.speakMin, text.length * SIM_MS.speakPerChar);

/** A SWML playable sound: `say:<text>`, `silence:<seconds>`, `ring:[<seconds>:]<country>` or an audio URL. */
export function swmlSound(playable: string): Sound {
  const [scheme, ...rest] = playable.split(':');
  const value = rest.join(':').trim();
  switch (scheme.trim().toLowerCase()) {
    case 'say':
      return { heard: value, durationMs: sayDuration(value) };
    case 'silence':
      return { durationMs: (Number(value) || 0) * 1000 };
    case 'ring': {
      const seconds = rest.length > 1 ? Number(rest[0]) : NaN;
      return { durationMs: Number.isFinite(seconds) ? seconds * 1000 : SIM_MS.oneRing };
    }
    default:
      return { heard: playable, durationMs: SIM_MS.audioFile };
  }
}

/** A `calling.play` item. */
export function restSound(item: { type: string; params: Record<string, unknown> }): Sound {
  const { params } = item;
  const text = (key: string) => (typeof params[key] === 'string' ? params[key] : '');
  const seconds = typeof params.duration === 'number' ? params.duration : undefined;
  switch (item.type) {
    case 'tts':
      return { heard: text('text'), durationMs: sayDuration(text('text')) };
    case 'silence':
      return { durationMs: (seconds ?? 0) * 1000 };
    case 'ringtone':
      return { durationMs: seconds === undefined ? SIM_MS.oneRing : seconds * 1000 };
    default:
      return { heard: text('url'), durationMs: SIM_MS.audioFile };
  }
}

export const soundsLength = (sounds: Sound[]) => sounds.reduce((sum, sound) => sum + sound.durationMs, 0);

export interface DigitSettings {
  max: number;
  terminators: string;
  digitTimeoutMs: number;
  initialTimeoutMs: number;
}

/** When a collect's initial timeout starts counting. */
export interface InputTimers {
  running: boolean;
  started: Promise<void>;
}
const TIMERS_RUNNING: InputTimers = { running: true, started: Promise.resolve() };

export type CollectResult =
  | { type: 'digit'; digits: string; terminator?: string }
  | { type: 'no_input' }
  | { type: 'no_match' };

export interface RecordSettings {
  beep: boolean;
  format: 'wav' | 'mp3' | 'mp4';
  initialTimeoutMs: number;
  endSilenceTimeoutMs: number;
  /** 0 = no limit. */
  maxLengthMs: number;
}

export interface FinishedRecording {
  state: 'finished' | 'no_input';
  recordingId: string;
  url: string;
  startedAt: Date;
  endedAt: Date;
  durationMs: number;
  sizeBytes: number;
}

export type DetectSignal = { type: 'machine' | 'fax'; event: string; beep?: boolean };
export type DetectVerdict = 'human' | 'machine' | 'fax' | 'unknown';

export interface FaxOutcome {
  pages: number;
  success: boolean;
  result: { code: number; text: string };
}

export interface MediaDeps {
  clock: SimClock;
  /** e.g. http://127.0.0.1:PORT, for recording URLs. */
  origin: () => string;
  /** Runs `fn` after a simulated delay unless the leg ends first (what the far end does). */
  after: (leg: Leg, simMs: number, fn: () => void) => void;
  /** The far end hangs up. */
  remoteHangsUp: (leg: Leg, note: string) => void;
  log: (line: string) => void;
}

/** What the far end says while something listens: a voicemail caller talks once, a bridged call goes on. */
type Speech = { talkMs: number } | 'continuous' | 'silent';

export class Media {
  private readonly recordingLengths = new Map<string, { durationMs: number; format: string }>();
  private readonly documentAgent = new Agent({ connect: { timeout: DOCUMENT_FETCH_TIMEOUT_MS } });

  constructor(private readonly deps: MediaDeps) {}

  /** Plays sounds one after another; the leg's `heard` lists each as it starts. */
  async play(leg: Leg, sounds: Sound[], signal: AbortSignal): Promise<void> {
    for (const sound of sounds) {
      if (sound.heard !== undefined) leg.heard.push(sound.heard);
      await this.deps.clock.delay(sound.durationMs, signal);
    }
  }

  /**
   * The far end's digits for input number `index` (a prompt or a collect): a scripted caller presses what
   * `presses[index]` says after a moment's thought; nobody else presses anything. The initial timeout runs
   * once the input timers start: at once, unless a REST collect waits for `start_input_timers`.
   */
  async collectDigits(
    leg: Leg,
    index: number,
    settings: DigitSettings,
    signal: AbortSignal,
    timers: InputTimers = TIMERS_RUNNING,
  ): Promise<CollectResult> {
    const { clock } = this.deps;
    const press = leg.remote.kind === 'caller' ? leg.remote.script.presses?.[index] : undefined;
    if (!press || (timers.running && SIM_MS.callerThinks > settings.initialTimeoutMs)) {
      await Promise.race([timers.started, clock.untilAborted(signal)]);
      await clock.delay(settings.initialTimeoutMs, signal);
      return { type: 'no_input' };
    }
    await clock.delay(SIM_MS.callerThinks, signal);
    let digits = '';
    for (const [i, digit] of [...press].entries()) {
      if (i > 0) {
        // A caller slower than the digit timeout is cut off after what they pressed so far.
        if (SIM_MS.betweenDigits > settings.digitTimeoutMs) {
          await clock.delay(settings.digitTimeoutMs, signal);
          return { type: 'digit', digits };
        }
        await clock.delay(SIM_MS.betweenDigits, signal);
      }
      leg.digitsPressed += digit;
      if (settings.terminators.includes(digit))
        return digits ? { type: 'digit', digits, terminator: digit } : { type: 'no_match' };
      digits += digit;
      if (digits.length >= settings.max) return { type: 'digit', digits };
    }
    await clock.delay(settings.digitTimeoutMs, signal);
    return { type: 'digit', digits };
  }

  /**
   * Records until the far end falls silent for `endSilenceTimeoutMs` after talking, the maximum length, or
   * the signal aborts (stop, hang-up); nobody talking is `no_input` after the initial timeout. A voicemail
   * caller talks `voicemail.talkMs`, then hangs up once the recorder has stopped on their silence.
   */
  async record(
    leg: Leg,
    settings: RecordSettings,
    signal: AbortSignal,
    onStarted: () => void,
  ): Promise<FinishedRecording> {
    const { clock } = this.deps;
    if (settings.beep) await clock.delay(SIM_MS.beep, signal);
    const startedAt = new Date();
    onStarted();
    const speech = this.speech(leg);
    const cap = (ms: number) => (settings.maxLengthMs > 0 ? Math.min(ms, settings.maxLengthMs) : ms);
    let state: FinishedRecording['state'] = 'finished';
    try {
      if (speech === 'silent') {
        // Nothing is said: no_input at the initial timeout, unless the maximum length comes first.
        await clock.delay(cap(settings.initialTimeoutMs), signal);
        if (cap(settings.initialTimeoutMs) === settings.initialTimeoutMs) state = 'no_input';
      } else if (speech === 'continuous') {
        if (settings.maxLengthMs > 0) await clock.delay(settings.maxLengthMs, signal);
        else await clock.untilAborted(signal);
      } else {
        await clock.delay(cap(speech.talkMs + settings.endSilenceTimeoutMs), signal);
        this.deps.after(leg, SIM_MS.callerLeavesAfterMessage, () =>
          this.deps.remoteHangsUp(leg, 'left a voicemail, caller hung up'),
        );
      }
    } catch (err) {
      if (!(err instanceof Interrupted)) throw err;
    }
    return this.save(leg, state, settings.format, startedAt);
  }

  /** Answering-machine and fax detection against whoever answered; `onSignal` gets each detector event. */
  async detectMachine(
    leg: Leg,
    detectors: { amd: boolean; fax: boolean },
    signal: AbortSignal,
    onSignal: (detected: DetectSignal) => void,
  ): Promise<{ verdict: DetectVerdict; beep: boolean }> {
    const { clock } = this.deps;
    const far = this.farEnd(leg);
    if (far === 'fax-ced' || far === 'fax-cng') {
      await clock.delay(SIM_MS.faxToneDetected, signal);
      if (detectors.fax) {
        onSignal({ type: 'fax', event: far === 'fax-ced' ? 'CED' : 'CNG' });
        onSignal({ type: 'machine', event: 'finished' });
        return { verdict: 'fax', beep: false };
      }
    }
    await clock.delay(SIM_MS.amdVerdict, signal);
    if (!detectors.amd || far === 'fax-ced' || far === 'fax-cng') {
      onSignal({ type: 'machine', event: 'UNKNOWN' });
      onSignal({ type: 'machine', event: 'finished' });
      return { verdict: 'unknown', beep: false };
    }
    if (far === 'human') {
      onSignal({ type: 'machine', event: 'HUMAN' });
      onSignal({ type: 'machine', event: 'finished' });
      return { verdict: 'human', beep: false };
    }
    onSignal({ type: 'machine', event: 'MACHINE' });
    await clock.delay(SIM_MS.amdGreetingEnded, signal);
    onSignal({ type: 'machine', event: 'READY', beep: true });
    onSignal({ type: 'machine', event: 'finished' });
    return { verdict: 'machine', beep: true };
  }

  /** Fax tone detection (`calling.detect` type fax): the tone of a fax machine at the far end, if any. */
  async detectFaxTone(leg: Leg, tone: string | undefined, signal: AbortSignal): Promise<string | undefined> {
    const far = this.farEnd(leg);
    const heard = far === 'fax-ced' ? 'CED' : far === 'fax-cng' ? 'CNG' : undefined;
    if (!heard || (tone && tone !== heard)) return undefined;
    await this.deps.clock.delay(SIM_MS.faxToneDetected, signal);
    return heard;
  }

  /**
   * Pages going across between our side and the fax machine at the far end. Stopping or a hang-up ends it
   * with the pages done so far; a far end that is not a fax machine never answers the handshake.
   */
  async transmitFax(
    leg: Leg,
    direction: 'send' | 'receive',
    plan: { pages: number; failOnPage?: number },
    signal: AbortSignal,
    onPage: (page: number) => void,
  ): Promise<FaxOutcome> {
    const { clock } = this.deps;
    const broken = direction === 'send' ? FAX_RESULTS.sendBroken : FAX_RESULTS.receiveBroken;
    const isFaxMachine = direction === 'send' ? leg.remote.kind === 'fax-receiver' : leg.remote.kind === 'fax-sender';
    let pages = 0;
    try {
      if (!isFaxMachine) {
        await clock.delay(SIM_MS.faxNoTone, signal);
        return { pages: 0, success: false, result: FAX_RESULTS.notAFax };
      }
      await clock.delay(SIM_MS.faxTraining, signal);
      for (let page = 1; page <= plan.pages; page++) {
        if (plan.failOnPage === page) {
          await clock.delay(SIM_MS.faxPage / 2, signal);
          return { pages, success: false, result: broken };
        }
        await clock.delay(SIM_MS.faxPage, signal);
        pages = page;
        onPage(page);
      }
      return { pages, success: true, result: FAX_RESULTS.ok };
    } catch (err) {
      if (!(err instanceof Interrupted)) throw err;
      return { pages, success: false, result: broken };
    }
  }

  /** Pages of the PDF at `url`, if it can be fetched and read. */
  async documentPages(url: string): Promise<number | undefined> {
    try {
      const response = await request(url, {
        dispatcher: this.documentAgent,
        headersTimeout: DOCUMENT_FETCH_TIMEOUT_MS,
        bodyTimeout: DOCUMENT_FETCH_TIMEOUT_MS,
      });
      const bytes = Buffer.from(await response.body.arrayBuffer());
      return response.statusCode === 200 ? pdfPageCount(bytes) : undefined;
    } catch (err) {
      this.deps.log(`fax document ${url} could not be read (${err instanceof Error ? err.message : String(err)})`);
      return undefined;
    }
  }

  recordingInfo(recordingId: string): { durationMs: number; format: string } | undefined {
    return this.recordingLengths.get(recordingId);
  }

  async close(): Promise<void> {
    await this.documentAgent.destroy();
  }

  private speech(leg: Leg): Speech {
    if (leg.bridge) return 'continuous';
    if (leg.remote.kind === 'caller' && leg.remote.script.voicemail && !leg.voicemailLeft) {
      leg.voicemailLeft = true;
      return { talkMs: leg.remote.script.voicemail.talkMs };
    }
    return 'silent';
  }

  private farEnd(leg: Leg): 'human' | 'machine' | 'fax-ced' | 'fax-cng' {
    switch (leg.remote.kind) {
      case 'agent':
        return leg.remote.script.answeredBy ?? 'human';
      case 'fax-receiver':
        return 'fax-ced';
      case 'fax-sender':
        return 'fax-cng';
      case 'caller':
        return 'human';
    }
  }

  private save(
    leg: Leg,
    state: FinishedRecording['state'],
    format: RecordSettings['format'],
    startedAt: Date,
  ): FinishedRecording {
    const recordingId = randomUUID();
    const endedAt = new Date();
    const durationMs = endedAt.getTime() - startedAt.getTime();
    const extension = format === 'wav' ? 'wav' : 'mp3';
    const url = `${this.deps.origin()}/_sim/recordings/${recordingId}.${extension}`;
    this.recordingLengths.set(recordingId, { durationMs, format: extension });
    leg.recordings.push({ recordingId, url, durationMs });
    // Size as the served file: 16-bit 8 kHz WAV, or 32 kbit/s MP3 (see ../audio.ts).
    const sizeBytes =
      extension === 'wav' ? 44 + Math.round(durationMs * 16) : Math.max(1, Math.ceil(durationMs / 24)) * 96;
    return { state, recordingId, url, startedAt, endedAt, durationMs, sizeBytes };
  }
}
