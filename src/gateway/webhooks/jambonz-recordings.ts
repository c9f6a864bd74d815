import { createHash, createHmac } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import type { IncomingMessage, Server } from 'node:http';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { JAMBONZ_HOOK_PATH, JambonzHook, verifyHookToken } from '../../providers/jambonz';

/**
 * jambonz records by streaming call audio to a WebSocket (`listen`; its `record` verb cannot run). This is
 * that socket: `ws(s)://<gateway>/webhooks/jambonz?hook=listen&wf=..&op=..&token=..` takes the stream
 * (subprotocol `audio.jambonz.org`: one JSON text frame of metadata, then 16-bit little-endian PCM) and writes
 * it as a WAV file named after the operation, served at `/recordings/jambonz/<name>.wav`. A minimal RFC 6455
 * server: jambonz only sends, so it reads frames, answers ping and close, and never sends audio back.
 */

export const LISTEN_SUBPROTOCOL = 'audio.jambonz.org';
export const RECORDINGS_ROUTE = '/recordings/jambonz';
const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const WAV_HEADER_BYTES = 44;
/** Four hours of 16 kHz stereo; a stream beyond that is cut off. */
const MAX_AUDIO_BYTES = 4 * 3600 * 16_000 * 2 * 2;

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

/** Takes the recording streams (WebSocket upgrades on the hook path) and serves the files. */
export async function jambonzRecordings(app: FastifyInstance, options: RecordingSinkOptions): Promise<void> {
  mkdirSync(options.dir, { recursive: true });
  const server: Server = app.server;
  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const handled = acceptRecordingStream(request, socket, head, options);
    // Node hands every upgrade to the 'upgrade' listeners only: refuse what no listener takes.
    if (!handled && server.listenerCount('upgrade') === 1) refuse(socket, 404, 'Not Found');
  };
  server.on('upgrade', onUpgrade);
  app.addHook('onClose', async () => {
    server.off('upgrade', onUpgrade);
  });

  app.get<{ Params: { name: string } }>(`${RECORDINGS_ROUTE}/:name`, async (request, reply) => {
    const { name } = request.params;
    if (!/^[0-9a-f]{32}\.wav$/.test(name))
      return reply.code(404).send({ error: 'not found', reason: 'no such recording' });
    const file = path.join(options.dir, name);
    try {
      const { size } = await stat(file);
      return reply.header('content-type', 'audio/wav').header('content-length', size).send(createReadStream(file));
    } catch {
      return reply.code(404).send({ error: 'not found', reason: 'no such recording' });
    }
  });
}

function refuse(socket: Duplex, status: number, reason: string): void {
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

/** Returns false when the upgrade is not for the recording socket (another listener may take it). */
function acceptRecordingStream(
  request: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  options: RecordingSinkOptions,
): boolean {
  const url = request.url ?? '';
  if (url.split('?')[0] !== JAMBONZ_HOOK_PATH) return false;
  const token = verifyHookToken(url, options.secrets);
  if (
    !token.ok ||
    token.hook !== JambonzHook.Listen ||
    token.workflowId === undefined ||
    token.controlId === undefined
  ) {
    options.log.warn({ reason: token.ok ? 'not a recording hook' : token.reason }, 'jambonz recording stream refused');
    refuse(socket, 401, 'Unauthorized');
    return true;
  }
  const key = request.headers['sec-websocket-key'];
  if (String(request.headers.upgrade ?? '').toLowerCase() !== 'websocket' || typeof key !== 'string') {
    refuse(socket, 400, 'Bad Request');
    return true;
  }
  const offered = String(request.headers['sec-websocket-protocol'] ?? '')
    .split(',')
    .map((p) => p.trim());
  socket.write(
    [
      'HTTP/1.1 101 Switching Protocols',
      'Upgrade: websocket',
      'Connection: Upgrade',
      `Sec-WebSocket-Accept: ${createHash('sha1')
        .update(key + WEBSOCKET_GUID)
        .digest('base64')}`,
      ...(offered.includes(LISTEN_SUBPROTOCOL) ? [`Sec-WebSocket-Protocol: ${LISTEN_SUBPROTOCOL}`] : []),
      '',
      '',
    ].join('\r\n'),
  );
  const file = path.join(options.dir, recordingName(options.secrets[0] ?? '', token.workflowId, token.controlId));
  new RecordingStream(socket, file, options.log).start(head);
  return true;
}

/** Reads the frames of one stream and writes its audio to a WAV file. */
class RecordingStream {
  private pending: Buffer = Buffer.alloc(0);
  private messageOpcode = 0;
  private textParts: Buffer[] = [];
  private out?: WriteStream;
  private sampleRate = 8000;
  private channels = 1;
  private audioBytes = 0;
  private done = false;

  constructor(
    private readonly socket: Duplex,
    private readonly file: string,
    private readonly log: FastifyBaseLogger,
  ) {}

  start(head: Buffer): void {
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('close', () => this.finish());
    this.socket.on('error', () => this.finish());
    if (head.length > 0) this.onData(head);
  }

  private onData(chunk: Buffer): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    for (;;) {
      const frame = readFrame(this.pending);
      if (frame === undefined) return;
      this.pending = this.pending.subarray(frame.size);
      this.onFrame(frame.fin, frame.opcode, frame.payload);
      if (this.done) return;
    }
  }

  private onFrame(fin: boolean, opcode: number, payload: Buffer): void {
    switch (opcode) {
      case 0x0: // continuation
        return this.onMessagePart(this.messageOpcode, fin, payload);
      case 0x1:
      case 0x2:
        this.messageOpcode = opcode;
        return this.onMessagePart(opcode, fin, payload);
      case 0x8: // close: echo the status code, then end
        this.send(0x8, payload.subarray(0, 2));
        this.socket.end();
        return this.finish();
      case 0x9: // ping
        return this.send(0xa, payload);
      default:
        return; // pong and reserved opcodes
    }
  }

  private onMessagePart(opcode: number, fin: boolean, payload: Buffer): void {
    if (opcode === 0x2) return this.writeAudio(payload);
    this.textParts.push(payload);
    if (!fin) return;
    const text = Buffer.concat(this.textParts).toString('utf8');
    this.textParts = [];
    this.onMetadata(text);
  }

  /** The first text frame: `{sampleRate, mixType, ...call info}`; later ones (jambonz sends none) are ignored. */
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

  /** The file, opened on the first frame with its header left blank until the length is known. */
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
      this.send(0x8, Buffer.from([0x03, 0xf1])); // 1009: message too big
      this.socket.end();
      return this.finish();
    }
    this.output().write(payload);
    this.audioBytes += payload.length;
  }

  private send(opcode: number, payload: Buffer): void {
    if (this.socket.destroyed || payload.length > 125) return;
    this.socket.write(Buffer.concat([Buffer.from([0x80 | opcode, payload.length]), payload]));
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

interface Frame {
  fin: boolean;
  opcode: number;
  payload: Buffer;
  /** Bytes the frame took in the input. */
  size: number;
}

/** One complete frame at the start of `data`, unmasked, or undefined while more bytes are needed. */
function readFrame(data: Buffer): Frame | undefined {
  if (data.length < 2) return undefined;
  const fin = (data[0] & 0x80) !== 0;
  const opcode = data[0] & 0x0f;
  const masked = (data[1] & 0x80) !== 0;
  let length = data[1] & 0x7f;
  let offset = 2;
  if (length === 126) {
    if (data.length < 4) return undefined;
    length = data.readUInt16BE(2);
    offset = 4;
  } else if (length === 127) {
    if (data.length < 10) return undefined;
    length = Number(data.readBigUInt64BE(2));
    offset = 10;
  }
  const maskOffset = offset;
  if (masked) offset += 4;
  if (data.length < offset + length) return undefined;
  const payload = Buffer.from(data.subarray(offset, offset + length));
  if (masked) {
    for (let i = 0; i < payload.length; i++) payload[i] ^= data[maskOffset + (i % 4)];
  }
  return { fin, opcode, payload, size: offset + length };
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
