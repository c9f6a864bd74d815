import { createHmac } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import path from 'node:path';
import type { WebsocketPluginOptions } from '@fastify/websocket';
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest } from 'fastify';
import type { RawData, WebSocket } from 'ws';
import { JAMBONZ_HOOK_PATH, JambonzHook, verifyHookToken } from '../../providers/jambonz';
import { sendProblem } from '../problem';

/**
 * jambonz records by streaming call audio to a WebSocket (`listen`; its `record` verb cannot run). This is
 * that socket: `ws(s)://<gateway>/webhooks/jambonz?hook=listen&wf=..&op=..&token=..` takes the stream
 * (subprotocol `audio.jambonz.org`: one JSON text message of metadata, then 16-bit little-endian PCM) and writes
 * it as a WAV file named after the operation, served at `/recordings/jambonz/<name>.wav`. The WebSocket itself
 * is `@fastify/websocket` (ws): the upgrade runs through fastify's hooks, so the hook token is checked before
 * the handshake and a forged URL gets a 401 and no socket. jambonz only sends; nothing goes back but control frames.
 */

export const LISTEN_SUBPROTOCOL = 'audio.jambonz.org';
export const RECORDINGS_ROUTE = '/recordings/jambonz';
const WAV_HEADER_BYTES = 44;
/** Four hours of 16 kHz stereo; a stream beyond that is cut off. */
const MAX_AUDIO_BYTES = 4 * 3600 * 16_000 * 2 * 2;
/** One message: jambonz sends 20 ms of audio at a time (a few KiB); ws's default (100 MiB) is far too trusting. */
const MAX_MESSAGE_BYTES = 1024 * 1024;
/** WebSocket close code 1009, "message too big". */
const CLOSE_TOO_BIG = 1009;

/** The file name of an operation's recording: keyed, so it cannot be guessed from a workflow id. */
export function recordingName(secret: string, workflowId: string, controlId: string): string {
  return `${createHmac('sha256', secret).update(`jambonz-recording\n${workflowId}\n${controlId}`).digest('hex').slice(0, 32)}.wav`;
}

export function recordingUrl(publicBaseUrl: string, name: string): string {
  return `${publicBaseUrl.replace(/\/+$/, '')}${RECORDINGS_ROUTE}/${name}`;
}

export interface RecordingSinkOptions {
  dir: string;
  /** Every accepted webhook secret (tokens); the first names the files. */
  secrets: readonly string[];
  log: FastifyBaseLogger;
}

/**
 * `@fastify/websocket`'s options, for `buildGateway` to register it on the root instance: its hooks then see every
 * upgrade, so one for any other path gets the 404 and its socket is closed (registered in the jambonz plugin
 * alone, such a socket stayed open and held up `close()`). The recording socket is the only WebSocket route.
 */
export const WEBSOCKET_OPTIONS: WebsocketPluginOptions = {
  options: {
    maxPayload: MAX_MESSAGE_BYTES,
    // Name the subprotocol only when offered (ws would otherwise pick the first one offered, whatever it is).
    handleProtocols: (offered) => (offered.has(LISTEN_SUBPROTOCOL) ? LISTEN_SUBPROTOCOL : false),
  },
};

/** Takes the recording streams (WebSocket upgrades on the hook path) and serves the files. */
export async function jambonzRecordings(app: FastifyInstance, options: RecordingSinkOptions): Promise<void> {
  mkdirSync(options.dir, { recursive: true });
  if (!app.hasDecorator('websocketServer')) {
    throw new Error('the jambonz recording socket needs @fastify/websocket registered on the root (buildGateway does)');
  }

  /** The file each accepted upgrade writes, decided before the handshake. */
  const files = new WeakMap<FastifyRequest, string>();
  app.get(
    JAMBONZ_HOOK_PATH,
    {
      websocket: true,
      // Callback style: a hook that answers the request does not call `done`.
      preValidation: (request, reply, done) => {
        // A plain GET of the hook path is no route of ours (hooks are POSTs).
        if (!request.ws) {
          reply.callNotFound();
          return;
        }
        const token = verifyHookToken(request.url, options.secrets);
        if (
          !token.ok ||
          token.hook !== JambonzHook.Listen ||
          token.workflowId === undefined ||
          token.controlId === undefined
        ) {
          const reason = token.ok ? 'not a recording hook' : token.reason;
          request.log.warn({ reason }, 'jambonz recording stream refused');
          // Written on the socket before any handshake: jambonz sees a failed connect, nothing is saved. The
          // webhook shape, not a problem document: the reader is jambonz, as for the hook routes.
          void reply.code(401).send({ error: 'invalid hook token', reason });
          return;
        }
        const name = recordingName(options.secrets[0] ?? '', token.workflowId, token.controlId);
        files.set(request, path.join(options.dir, name));
        done();
      },
    },
    (socket, request) => {
      const file = files.get(request);
      // preValidation ran first and answered every request it did not name a file for.
      if (file === undefined) return socket.terminate();
      new RecordingStream(socket, file, request.log).start();
    },
  );

  app.get<{ Params: { name: string } }>(`${RECORDINGS_ROUTE}/:name`, async (request, reply) => {
    const { name } = request.params;
    if (!/^[0-9a-f]{32}\.wav$/.test(name)) return sendProblem(reply, 404, 'not-found', 'no such recording');
    const file = path.join(options.dir, name);
    try {
      const { size } = await stat(file);
      return reply.header('content-type', 'audio/wav').header('content-length', size).send(createReadStream(file));
    } catch {
      return sendProblem(reply, 404, 'not-found', 'no such recording');
    }
  });
}

/** Writes the audio of one stream to a WAV file. */
class RecordingStream {
  private out?: WriteStream;
  private sampleRate = 8000;
  private channels = 1;
  private audioBytes = 0;
  private done = false;

  constructor(
    private readonly socket: WebSocket,
    private readonly file: string,
    private readonly log: FastifyBaseLogger,
  ) {}

  start(): void {
    this.socket.on('message', (data, isBinary) => {
      if (this.done) return;
      const bytes = asBuffer(data);
      if (isBinary) this.writeAudio(bytes);
      else this.onMetadata(bytes.toString('utf8'));
    });
    // Also after an error: @fastify/websocket terminates the socket, which closes it.
    this.socket.on('close', () => this.finish());
  }

  /** The first text message: `{sampleRate, mixType, ...call info}`; later ones (jambonz sends none) are ignored. */
  private onMetadata(text: string): void {
    if (this.out) return;
    try {
      const metadata = JSON.parse(text) as { sampleRate?: unknown; mixType?: unknown };
      if (typeof metadata.sampleRate === 'number' && metadata.sampleRate > 0) this.sampleRate = metadata.sampleRate;
      this.channels = metadata.mixType === 'stereo' ? 2 : 1;
    } catch {
      this.log.warn('jambonz recording stream: metadata is not JSON; assuming 8 kHz mono');
    }
    this.output();
  }

  /** The file, opened on the first message with its header left blank until the length is known. */
  private output(): WriteStream {
    if (!this.out) {
      this.out = createWriteStream(this.file);
      this.out.on('error', (err) => this.log.error({ err }, 'jambonz recording could not be written'));
      this.out.write(Buffer.alloc(WAV_HEADER_BYTES));
    }
    return this.out;
  }

  private writeAudio(payload: Buffer): void {
    if (this.audioBytes + payload.length > MAX_AUDIO_BYTES) {
      this.socket.close(CLOSE_TOO_BIG, 'recording too long');
      return this.finish();
    }
    this.output().write(payload);
    this.audioBytes += payload.length;
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    const out = this.out;
    if (!out) return;
    const header = wavHeader(this.audioBytes, this.sampleRate, this.channels);
    out.end(() => {
      void (async () => {
        const handle = await open(this.file, 'r+');
        try {
          await handle.write(header, 0, header.length, 0);
        } finally {
          await handle.close();
        }
      })().catch((err: unknown) => this.log.error({ err }, 'jambonz recording header could not be written'));
    });
  }
}

/** ws hands a message as one Buffer unless binaryType is changed; the other shapes are handled all the same. */
function asBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/** The 44-byte header of a PCM WAV file with 16-bit samples. */
export function wavHeader(dataBytes: number, sampleRate: number, channels: number): Buffer {
  const header = Buffer.alloc(WAV_HEADER_BYTES);
  const blockAlign = channels * 2;
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(36 + dataBytes, 4);
  header.write('WAVE', 8, 'ascii');
  header.write('fmt ', 12, 'ascii');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(channels, 22);
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate * blockAlign, 28);
  header.writeUInt16LE(blockAlign, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(dataBytes, 40);
  return header;
}
