import { request as httpRequest } from 'node:http';
import { WebSocket } from 'undici';
import { JambonzHook, recordingStreamUrl } from '../../../src/providers/jambonz';
import { hookUrl } from '../../../src/providers/jambonz/webhook';
import { LISTEN_SUBPROTOCOL, recordingName } from '../../../src/gateway/webhooks/jambonz-recordings';
import { buildTestGateway, type TestGateway } from './helper';

/**
 * The jambonz recording socket on a listening gateway, driven by a real WebSocket client (undici's, as the
 * simulator's jambonz uses): the hook token decides before the handshake, and what the stream carries is the
 * WAV file served afterwards.
 */

const SECRET = 'jambonz-webhook-secret';
const WORKFLOW = 'call:jambonz:rec-test';

let gateway: TestGateway;
let base: string;
beforeAll(async () => {
  gateway = await buildTestGateway({ JAMBONZ_WEBHOOK_SECRET: SECRET });
  base = await gateway.app.listen({ port: 0, host: '127.0.0.1' });
});
// Prompt: a socket left open (an upgrade nobody closed) would hold this up until jest's timeout.
afterAll(() => gateway.app.close(), 5000);

const streamUrl = (controlId: string, hook: JambonzHook = JambonzHook.Listen) =>
  hook === JambonzHook.Listen
    ? recordingStreamUrl({ publicBaseUrl: base, secret: SECRET }, WORKFLOW, controlId)
    : hookUrl(base, SECRET, WORKFLOW, hook, controlId).replace(/^http/, 'ws');

/** Opens the socket as jambonz does, or rejects with what happened instead. */
function connect(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, LISTEN_SUBPROTOCOL);
    socket.addEventListener('open', () => resolve(socket));
    socket.addEventListener('error', () => reject(new Error('connection refused')));
  });
}

const closed = (socket: WebSocket) =>
  new Promise<{ code: number }>((resolve) => socket.addEventListener('close', (e) => resolve({ code: e.code })));

/** The status line the gateway answers a WebSocket upgrade of `path` with (101 when it accepts). */
function upgradeStatus(path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const { port } = new URL(base);
    const req = httpRequest({
      // A connection of its own: the gateway closes the socket after refusing an upgrade.
      agent: false,
      host: '127.0.0.1',
      port,
      path,
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
        'sec-websocket-protocol': LISTEN_SUBPROTOCOL,
      },
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve(res.statusCode ?? 0);
    });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

/** The recording as served once its header has been written (after the socket closed). */
async function fetchRecording(controlId: string): Promise<Buffer> {
  const url = `/recordings/jambonz/${recordingName(SECRET, WORKFLOW, controlId)}`;
  for (let i = 0; i < 100; i++) {
    const res = await gateway.app.inject({ method: 'GET', url });
    if (res.statusCode === 200 && res.rawPayload.length >= 44 && res.rawPayload.readUInt32LE(40) > 0) {
      expect(res.headers['content-type']).toBe('audio/wav');
      return res.rawPayload;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no recording at ${url}`);
}

describe('jambonz recording socket (@fastify/websocket)', () => {
  it('accepts a listen stream with a valid token, speaks audio.jambonz.org, and saves metadata + PCM as a WAV file', async () => {
    const socket = await connect(streamUrl('op-1'));
    expect(socket.protocol).toBe(LISTEN_SUBPROTOCOL);
    socket.send(JSON.stringify({ sampleRate: 16000, mixType: 'stereo', callSid: 'rec-test' }));
    const audio = Buffer.alloc(16000 * 2 * 2 * 0.1); // 100 ms of 16 kHz stereo
    for (let i = 0; i < audio.length; i++) audio[i] = i % 251;
    const chunks = [audio.subarray(0, 1000), audio.subarray(1000, 3000), audio.subarray(3000)];
    for (const chunk of chunks) socket.send(chunk);
    const done = closed(socket);
    socket.close(1000);
    expect((await done).code).toBe(1000);

    const wav = await fetchRecording('op-1');
    expect(wav.subarray(0, 4).toString('ascii')).toBe('RIFF');
    expect(wav.subarray(8, 12).toString('ascii')).toBe('WAVE');
    expect(wav.readUInt16LE(22)).toBe(2); // channels
    expect(wav.readUInt32LE(24)).toBe(16000); // sample rate
    expect(wav.readUInt32LE(40)).toBe(audio.length);
    expect(wav.subarray(44).equals(audio)).toBe(true);
  });

  it('assumes 8 kHz mono when the metadata is not JSON', async () => {
    const socket = await connect(streamUrl('op-2'));
    socket.send('not json');
    socket.send(Buffer.alloc(320, 7));
    const done = closed(socket);
    socket.close(1000);
    await done;
    const wav = await fetchRecording('op-2');
    expect(wav.readUInt16LE(22)).toBe(1);
    expect(wav.readUInt32LE(24)).toBe(8000);
    expect(wav.readUInt32LE(40)).toBe(320);
  });

  it('closes a stream that sends one message over 1 MiB with 1009, keeping what came before', async () => {
    const socket = await connect(streamUrl('op-3'));
    socket.send(JSON.stringify({ sampleRate: 8000 }));
    socket.send(Buffer.alloc(640, 1));
    const done = closed(socket);
    socket.send(Buffer.alloc(1024 * 1024 + 1));
    expect((await done).code).toBe(1009);
    const wav = await fetchRecording('op-3');
    expect(wav.readUInt32LE(40)).toBe(640);
  });

  it('refuses before the handshake (401, no socket, no file): a forged token, a token of another hook, no token', async () => {
    const forged = streamUrl('op-4').replace(/token=[^&]+/, 'token=AAAA');
    const path = (url: string) => url.slice(url.indexOf('/webhooks'));
    expect(await upgradeStatus(path(forged))).toBe(401);
    expect(await upgradeStatus(path(streamUrl('op-4', JambonzHook.Gather)))).toBe(401);
    expect(await upgradeStatus(`/webhooks/jambonz?hook=listen&wf=${encodeURIComponent(WORKFLOW)}&op=op-4`)).toBe(401);
    await expect(connect(forged)).rejects.toThrow('connection refused');
    const res = await gateway.app.inject({
      method: 'GET',
      url: `/recordings/jambonz/${recordingName(SECRET, WORKFLOW, 'op-4')}`,
    });
    expect(res.statusCode).toBe(404);
    // A valid token upgrades (the same helper sees a 101), so the refusals above are the token's doing.
    expect(await upgradeStatus(path(streamUrl('op-5')))).toBe(101);
  });

  it('answers an upgrade of any other path 404, and a plain GET of the hook path 404', async () => {
    expect(await upgradeStatus('/nowhere')).toBe(404);
    const res = await gateway.app.inject({
      method: 'GET',
      url: streamUrl('op-6').slice(streamUrl('op-6').indexOf('/webhooks')),
    });
    expect(res.statusCode).toBe(404);
  });
});
