/**
 * Silent audio files, so the recording URLs in `call.recording.saved` resolve to something a player
 * accepts, of the recorded length.
 */

const WAV_SAMPLE_RATE = 8_000;

/** 16-bit mono PCM WAV of silence. */
export function silentWav(durationMs: number): Buffer {
  const dataBytes = Math.round((WAV_SAMPLE_RATE * durationMs) / 1000) * 2;
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(36 + dataBytes, 4);
  header.write('WAVE', 8, 'ascii');
  header.write('fmt ', 12, 'ascii');
  header.writeUInt32LE(16, 16); // fmt chunk size
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(WAV_SAMPLE_RATE, 24);
  header.writeUInt32LE(WAV_SAMPLE_RATE * 2, 28); // byte rate
  header.writeUInt16LE(2, 32); // block align
  header.writeUInt16LE(16, 34); // bits per sample
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(dataBytes, 40);
  return Buffer.concat([header, Buffer.alloc(dataBytes)]);
}

/**
 * MPEG-1 Layer III at 32 kbit/s, 48 kHz, mono: every frame is exactly 96 bytes and 24 ms. A frame whose
 * side information and main data are all zero decodes to silence.
 */
const MP3_FRAME_HEADER = Buffer.from([0xff, 0xfb, 0x14, 0xc0]);
const MP3_FRAME_BYTES = 96;
const MP3_FRAME_MS = 24;

export function silentMp3(durationMs: number): Buffer {
  const frame = Buffer.concat([MP3_FRAME_HEADER, Buffer.alloc(MP3_FRAME_BYTES - MP3_FRAME_HEADER.length)]);
  const frames = Math.max(1, Math.ceil(durationMs / MP3_FRAME_MS));
  return Buffer.concat(Array.from({ length: frames }, () => frame));
}
