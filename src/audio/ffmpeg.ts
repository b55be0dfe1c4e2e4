/**
 * ffmpeg as Node's last-resort audio decoder, for containers and codecs no bundled decoder reads (AU, Speex,
 * AIFF variants, video files...). Node-only: `installNodePlatform` installs it as the audio
 * fallback decoder (src/audio/fallback-decoder.ts).
 *
 * ffmpeg keeps the source rate and channels and writes float32 WAV to stdout, read as it streams (ffmpeg leaves
 * the WAV sizes at 0xFFFFFFFF on a pipe, which the WAV reader takes as "to the end").
 * float32 keeps integer sources exact (x / 2^15 is representable), so the values match a WAV of the same audio.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AudioInputError } from '../errors.js';
import { concatBytes } from '../io/bytes.js';
import { audioTooLong, maxFramesAt } from './duration-limit.js';
import type { FallbackDecodedAudio, FallbackHint } from './fallback-decoder.js';
import { decodeWav, readWavInfo, type WavInfo } from './wav.js';

/** Bytes written to ffmpeg's stdin per write; small enough to respect the pipe's backpressure. */
const STDIN_CHUNK = 1 << 20;
/** Keep at most this much of ffmpeg's stderr (only the last lines are reported). */
const STDERR_LIMIT = 64 * 1024;
/** stderr lines that mean the container needs a seekable input (e.g. MP4 with its index at the end). */
const NEEDS_SEEK = /partial file|moov atom not found|could not seek|seek/i;

/** The ffmpeg binary: `$FFMPEG_PATH` when set, else `ffmpeg` on the PATH. */
export function ffmpegCommand(): string {
  return process.env.FFMPEG_PATH || 'ffmpeg';
}

/**
 * Decodes any audio ffmpeg can read, keeping its sample rate and channels.
 *
 * Memory: ffmpeg's float32 output is turned into samples as it streams (mixed to mono as it comes when
 * `hint.mono`), never held as bytes; with `hint.maxDurationSeconds`, ffmpeg is stopped as soon as its output
 * passes the bound (`AUDIO_TOO_LONG`), so a small file that decodes to hours costs only the bound.
 * A container that needs a seekable input (MP4 with its index at the end) is retried from a temporary file.
 *
 * @returns The decoded audio, or null when ffmpeg is not installed (so the caller reports "no decoder").
 * @throws AudioInputError `AUDIO_DECODE` when ffmpeg ran but could not decode the bytes (its last error line
 *   is in the message), `AUDIO_TOO_LONG` past `hint.maxDurationSeconds`.
 */
export async function decodeWithFfmpeg(
  bytes: Uint8Array,
  hint: FallbackHint = {},
): Promise<FallbackDecodedAudio | null> {
  const reader = () => new FloatWavStream(hint.mono === true, hint.maxDurationSeconds);
  let result = await runFfmpeg('pipe:0', bytes, reader());
  if (result === null) return null;
  // ffmpeg can exit 0 after such an error with an empty WAV, so the message decides, not the exit code.
  if (NEEDS_SEEK.test(result.stderr) && result.output.tooLongSeconds === null) {
    // Some containers cannot be read from a pipe; a temporary file is seekable.
    const dir = await mkdtemp(join(tmpdir(), 'emotion2vec-'));
    try {
      const path = join(dir, 'input');
      await writeFile(path, bytes);
      result = (await runFfmpeg(path, null, reader())) ?? result;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  const name = hint.fileName ?? (hint.format ? `this ${hint.format} audio` : 'this audio');
  const { output } = result;
  if (output.tooLongSeconds !== null)
    throw audioTooLong(output.tooLongSeconds, hint.maxDurationSeconds!, { atLeast: true, fileName: hint.fileName });
  if (result.code !== 0 || output.bytesSeen === 0) {
    const said = lastLine(result.stderr) || `it exited with code ${String(result.code)}`;
    throw new AudioInputError(
      'AUDIO_DECODE',
      `ffmpeg could not decode ${name}: ${said}. Check that the file is a complete audio file, or convert it to WAV.`,
      { details: { reason: `ffmpeg says "${said}"`, ffmpegExitCode: result.code } },
    );
  }
  let decoded: StreamedWav;
  try {
    decoded = output.finish();
  } catch (error) {
    // The WAV is ffmpeg's output, not the user's file: say what it means for their file.
    const problem =
      error instanceof AudioInputError && error.code === 'AUDIO_EMPTY'
        ? 'it produced no audio samples'
        : (error as Error).message;
    throw new AudioInputError(
      'AUDIO_DECODE',
      `ffmpeg could not decode ${name}: ${problem}. The file may be empty, truncated or damaged.`,
      {
        cause: error,
        details: { reason: `ffmpeg ${problem.replace(/\.$/, '')}` },
      },
    );
  }
  return {
    channels: decoded.channels,
    sampleRate: decoded.sampleRate,
    format: hint.format ?? 'unknown',
    sourceChannels: decoded.sourceChannels,
  };
}

/** Samples read from ffmpeg's WAV stream. */
interface StreamedWav {
  readonly channels: Float32Array[];
  readonly sampleRate: number;
  readonly sourceChannels: number;
}

/** Most header bytes (RIFF, fmt, LIST...) kept while looking for the data chunk. */
const MAX_HEADER_BYTES = 1 << 20;

/**
 * ffmpeg's float32 WAV on a pipe (sizes 0xFFFFFFFF: "to the end"), read as it arrives: the header by
 * {@link readWavInfo} once it is complete, then each whole frame into float32 samples, mixed to mono on the way
 * when asked (summed in channel order then divided, as {@link decodeWav} does, so the values are the same).
 * Stops taking data once the frames pass the bound.
 */
class FloatWavStream {
  bytesSeen = 0;
  /** Set when the output passed the bound: how long it was when reading stopped. */
  tooLongSeconds: number | null = null;
  private head: Uint8Array[] = [];
  private headBytes = 0;
  private info: WavInfo | null = null;
  /** Bytes of a frame cut by a chunk boundary. */
  private carry = new Uint8Array(0);
  private readonly pieces: Float32Array[][] = [];
  private frames = 0;
  private maxFrames = Infinity;

  constructor(
    private readonly mono: boolean,
    private readonly maxSeconds: number | undefined,
  ) {}

  /** Takes a chunk of ffmpeg's output; false once reading should stop (the bound is passed). */
  push(chunk: Uint8Array): boolean {
    if (this.tooLongSeconds !== null) return false;
    this.bytesSeen += chunk.length;
    if (this.info === null) {
      this.head.push(chunk);
      this.headBytes += chunk.length;
      const bytes = concatBytes(this.head, this.headBytes);
      const info = headerOf(bytes);
      if (info === null) {
        // Keep one joined copy; past the limit the stream is not the WAV ffmpeg writes, and finish() says so.
        this.head = [bytes.subarray(0, Math.min(bytes.length, MAX_HEADER_BYTES))];
        return bytes.length < MAX_HEADER_BYTES;
      }
      this.info = info;
      this.maxFrames = maxFramesAt(info.sampleRate, this.maxSeconds);
      this.head = [];
      chunk = bytes.subarray(info.dataOffset);
    }
    return this.samples(chunk);
  }

  /** The samples read, or the WAV reader's error for a stream that never had a usable header or a frame. */
  finish(): StreamedWav {
    const info = this.info;
    if (info === null) {
      // Let the WAV reader name what is wrong with what came (or that nothing did).
      const decoded = decodeWav(concatBytes(this.head, Math.min(this.headBytes, MAX_HEADER_BYTES)), {
        mono: this.mono,
      });
      return { channels: decoded.channels, sampleRate: decoded.sampleRate, sourceChannels: decoded.sourceChannels };
    }
    const count = this.mono ? 1 : info.channels;
    const channels = Array.from({ length: count }, (_, c) => {
      const joined = new Float32Array(this.frames);
      let at = 0;
      for (const piece of this.pieces) {
        joined.set(piece[c]!, at);
        at += piece[c]!.length;
      }
      return joined;
    });
    this.pieces.length = 0;
    return { channels, sampleRate: info.sampleRate, sourceChannels: info.channels };
  }

  private samples(chunk: Uint8Array): boolean {
    const info = this.info!;
    const bytes = this.carry.length > 0 ? concatBytes([this.carry, chunk], this.carry.length + chunk.length) : chunk;
    const frames = Math.floor(bytes.length / info.blockAlign);
    this.carry = bytes.slice(frames * info.blockAlign);
    if (frames === 0) return true;
    if (this.frames + frames > this.maxFrames) {
      this.tooLongSeconds = (this.frames + frames) / info.sampleRate;
      this.pieces.length = 0;
      return false;
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, frames * info.blockAlign);
    const n = info.channels;
    const piece: Float32Array[] = [];
    if (this.mono) {
      // Float32Array stores round each step to float32, as decodeWav's channel-by-channel sum does.
      const mix = new Float32Array(frames);
      for (let c = 0; c < n; c++)
        for (let i = 0, p = c * 4; i < frames; i++, p += info.blockAlign)
          mix[i] = c === 0 ? view.getFloat32(p, true) : mix[i]! + view.getFloat32(p, true);
      if (n > 1) for (let i = 0; i < frames; i++) mix[i] = mix[i]! / n;
      piece.push(mix);
    } else {
      for (let c = 0; c < n; c++) {
        const channel = new Float32Array(frames);
        for (let i = 0, p = c * 4; i < frames; i++, p += info.blockAlign) channel[i] = view.getFloat32(p, true);
        piece.push(channel);
      }
    }
    this.pieces.push(piece);
    this.frames += frames;
    return true;
  }
}

/**
 * The header of ffmpeg's float32 WAV once its data chunk has begun, or null while it is incomplete. Anything but
 * little-endian float32 is not what ffmpeg was asked for: an AUDIO_DECODE error.
 */
function headerOf(bytes: Uint8Array): WavInfo | null {
  let info: WavInfo;
  try {
    info = readWavInfo(bytes);
  } catch {
    return null; // the data chunk (or its first frame) has not come yet
  }
  if (info.encoding !== 'float' || info.bitsPerSample !== 32 || !info.littleEndian) {
    throw new AudioInputError(
      'AUDIO_DECODE',
      `ffmpeg wrote ${info.bitsPerSample}-bit ${info.encoding} samples instead of the float32 it was asked for.`,
    );
  }
  return info;
}

interface FfmpegResult {
  code: number | null;
  output: FloatWavStream;
  stderr: string;
}

/**
 * Runs ffmpeg on `input` (a path, or 'pipe:0' fed with `bytes`), its output read by `output`; stops ffmpeg when
 * `output` has had enough. Resolves to null when ffmpeg is missing.
 */
async function runFfmpeg(
  input: string,
  bytes: Uint8Array | null,
  output: FloatWavStream,
): Promise<FfmpegResult | null> {
  const args = [
    '-hide_banner',
    '-loglevel',
    'error',
    '-i',
    input,
    '-map',
    '0:a:0',
    '-vn',
    '-sn',
    '-dn',
    '-c:a',
    'pcm_f32le',
    '-f',
    'wav',
    'pipe:1',
  ];
  const child = spawn(ffmpegCommand(), args, { stdio: ['pipe', 'pipe', 'pipe'], windowsHide: true });

  let stderr = '';
  let streamError: unknown = null;
  child.stdout.on('data', (chunk: Buffer) => {
    let more: boolean;
    try {
      more = output.push(chunk);
    } catch (error) {
      streamError = error;
      more = false;
    }
    // Enough read (past the bound, or not ffmpeg's WAV): stop ffmpeg rather than let it decode the rest.
    if (!more) child.kill('SIGKILL');
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_LIMIT);
  });

  const exited = new Promise<{ code: number | null; missing: boolean }>((resolve) => {
    child.once('error', (error: NodeJS.ErrnoException) => resolve({ code: null, missing: error.code === 'ENOENT' }));
    child.once('close', (code) => resolve({ code, missing: false }));
  });

  void feed(child.stdin, bytes ?? new Uint8Array(0));

  const { code, missing } = await exited;
  if (missing) return null;
  if (streamError) throw streamError;
  return { code, output, stderr };
}

/**
 * Writes `bytes` to ffmpeg's stdin in chunks, waiting for 'drain' when the pipe is full. ffmpeg may stop
 * reading early (it failed, or has what it needs): the resulting EPIPE is expected and ignored, since the
 * exit code decides the outcome.
 */
async function feed(stdin: NodeJS.WritableStream & { destroyed?: boolean }, bytes: Uint8Array): Promise<void> {
  let failed = false;
  stdin.on('error', () => {
    failed = true; // EPIPE / ECONNRESET when ffmpeg exits before reading everything
  });
  for (let at = 0; at < bytes.length && !failed && !stdin.destroyed; at += STDIN_CHUNK) {
    if (!stdin.write(bytes.subarray(at, at + STDIN_CHUNK))) {
      await Promise.race([once(stdin, 'drain'), once(stdin, 'close')]).catch(() => undefined);
    }
  }
  if (!failed && !stdin.destroyed) stdin.end();
}

function lastLine(text: string): string {
  const lines = text
    .split(/\r?\n/)
    // "pipe:0: Invalid data..." / "/tmp/emotion2vec-x/input: ..." — the input's name means nothing to the user.
    .map((line) => line.trim().replace(/^(pipe:0|\S*emotion2vec-[^/\\]+[/\\]input): /, ''))
    .filter((line) => line.length > 0 && !/^To ignore this/.test(line));
  return lines.at(-1) ?? '';
}
