/**
 * ffmpeg as Node's last-resort audio decoder, for containers and codecs no bundled decoder reads (AU, Speex,
 * AIFF variants, video files...). Node-only: `installNodePlatform` installs it as the audio
 * fallback decoder (src/audio/fallback-decoder.ts).
 *
 * ffmpeg keeps the source rate and channels and writes float32 WAV to stdout; {@link decodeWav} reads that
 * (ffmpeg leaves the WAV sizes at 0xFFFFFFFF on a pipe, which decodeWav takes as "to the end").
 * float32 keeps integer sources exact (x / 2^15 is representable), so the values match a WAV of the same audio.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AudioInputError } from '../errors.js';
import type { FallbackDecodedAudio, FallbackHint } from './fallback-decoder.js';
import { decodeWav, type DecodedWav } from './wav.js';

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
 * Memory: ffmpeg's float32 output is collected whole before it is read (then mixed to mono when `hint.mono`),
 * so a long file briefly costs about twice its float32 size; prefer WAV/FLAC for hour-long audio.
 * A container that needs a seekable input (MP4 with its index at the end) is retried from a temporary file.
 *
 * @returns The decoded audio, or null when ffmpeg is not installed (so the caller reports "no decoder").
 * @throws AudioInputError `AUDIO_DECODE` when ffmpeg ran but could not decode the bytes (its last error line
 *   is in the message).
 */
export async function decodeWithFfmpeg(
  bytes: Uint8Array,
  hint: FallbackHint = {},
): Promise<FallbackDecodedAudio | null> {
  let result = await runFfmpeg('pipe:0', bytes);
  if (result === null) return null;
  // ffmpeg can exit 0 after such an error with an empty WAV, so the message decides, not the exit code.
  if (NEEDS_SEEK.test(result.stderr)) {
    // Some containers cannot be read from a pipe; a temporary file is seekable.
    const dir = await mkdtemp(join(tmpdir(), 'emotion2vec-'));
    try {
      const path = join(dir, 'input');
      await writeFile(path, bytes);
      result = (await runFfmpeg(path, null)) ?? result;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  const name = hint.fileName ?? (hint.format ? `this ${hint.format} audio` : 'this audio');
  if (result.code !== 0 || result.stdout.length === 0) {
    const said = lastLine(result.stderr) || `it exited with code ${String(result.code)}`;
    throw new AudioInputError(
      'AUDIO_DECODE',
      `ffmpeg could not decode ${name}: ${said}. Check that the file is a complete audio file, or convert it to WAV.`,
      { details: { reason: `ffmpeg says "${said}"`, ffmpegExitCode: result.code } },
    );
  }
  let decoded: DecodedWav;
  try {
    decoded = decodeWav(result.stdout, { mono: hint.mono === true });
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

interface FfmpegResult {
  code: number | null;
  stdout: Uint8Array;
  stderr: string;
}

/** Runs ffmpeg on `input` (a path, or 'pipe:0' fed with `bytes`). Resolves to null when ffmpeg is missing. */
async function runFfmpeg(input: string, bytes: Uint8Array | null): Promise<FfmpegResult | null> {
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

  const stdout: Buffer[] = [];
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
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
  return { code, stdout: stdout.length === 1 ? stdout[0]! : Buffer.concat(stdout), stderr };
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
