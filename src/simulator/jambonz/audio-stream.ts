import { WebSocket } from 'undici';
import type { SimClock } from '../clock';
import type { JambonzStreamRecord } from './types';

/**
 * The audio of a `listen` verb (or a `config` background stream): jambonz opens a WebSocket with the
 * subprotocol `audio.jambonz.org`, sends one text frame of JSON metadata (the call info in camelCase plus
 * `sampleRate`, `mixType` and the verb's `metadata`), then binary frames of 16-bit little-endian PCM
 * (two interleaved channels for `stereo`). The simulated caller is silent, so the frames are silence, as
 * much of it as simulated time has passed.
 */

export const LISTEN_SUBPROTOCOL = 'audio.jambonz.org';
const FRAME_INTERVAL_MS = 20;
const BYTES_PER_SAMPLE = 2;

export type ListenStatus = 'pause' | 'silence' | 'resume';

export interface AudioStreamOptions {
  url: string;
  metadata: Record<string, unknown>;
  sampleRate: number;
  channels: 1 | 2;
  clock: SimClock;
  /** Updated as audio goes out. */
  record: JambonzStreamRecord;
  log: (line: string) => void;
}

export class AudioStream {
  /** Resolves true once the socket accepted the connection, false if it refused or failed. */
  readonly opened: Promise<boolean>;
  /** Resolves when the far end closes the socket (jambonz then ends the `listen`). */
  readonly closedByPeer: Promise<void>;
  private readonly socket: WebSocket;
  private interval?: NodeJS.Timeout;
  private lastFrameAt = Date.now();
  private paused = false;
  private closing = false;

  /** What the call record shows about this stream. */
  readonly record: JambonzStreamRecord;

  constructor(private readonly options: AudioStreamOptions) {
    this.record = options.record;
    this.socket = new WebSocket(options.url, LISTEN_SUBPROTOCOL);
    this.opened = new Promise((resolve) => {
      this.socket.addEventListener('open', () => {
        this.record.connected = true;
        this.socket.send(JSON.stringify(options.metadata));
        this.lastFrameAt = Date.now();
        this.interval = setInterval(() => this.sendAudio(), FRAME_INTERVAL_MS);
        resolve(true);
      });
      this.socket.addEventListener('error', () => resolve(false));
    });
    this.closedByPeer = new Promise((resolve) => {
      this.socket.addEventListener('close', () => {
        this.stopFrames();
        if (!this.closing) options.log(`listen socket ${options.url} closed by the far end`);
        resolve();
      });
    });
  }

  /** Live Call Control `listen_status`: pause stops the audio, silence sends silence (all the simulator has), resume restarts it. */
  setStatus(status: ListenStatus): void {
    this.paused = status === 'pause';
    this.lastFrameAt = Date.now();
  }

  close(): void {
    this.closing = true;
    this.sendAudio();
    this.stopFrames();
    if (this.socket.readyState === WebSocket.OPEN || this.socket.readyState === WebSocket.CONNECTING)
      this.socket.close();
  }

  private sendAudio(): void {
    if (this.socket.readyState !== WebSocket.OPEN) return;
    const simMs = this.options.clock.simMsSince(this.lastFrameAt);
    this.lastFrameAt = Date.now();
    if (this.paused) return;
    const samples = Math.floor((this.options.sampleRate * simMs) / 1000);
    if (samples === 0) return;
    const frame = Buffer.alloc(samples * this.options.channels * BYTES_PER_SAMPLE);
    this.socket.send(frame);
    this.record.audioBytes += frame.length;
  }

  private stopFrames(): void {
    clearInterval(this.interval);
    this.interval = undefined;
  }
}
