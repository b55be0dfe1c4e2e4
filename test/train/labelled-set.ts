/**
 * A small labelled set made with sox for the head-training tests: three classes of 0.6 s, 16 kHz signals that the tiny
 * fixture model's embeddings can tell apart (a steady sine, noise of three colours, a rising sweep), each
 * recording with its own frequency and level so no two are alike.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runs, systemTool } from '../support/system-tools.js';

export const CLASSES = ['noise', 'sweep', 'tone'] as const;
export type SignalClass = (typeof CLASSES)[number];

export const HAS_SOX = systemTool('sox', runs('sox', ['--version']), 'Install it (apt-get install sox).');

const NOISES = ['whitenoise', 'pinknoise', 'brownnoise'];
/** Length of each recording: short, as the tiny model takes ~35 ms per second of audio. */
const SECONDS = 0.6;

/** The sox `synth` arguments of recording `i` of a class. */
function synth(kind: SignalClass, i: number): string[] {
  const volume = (0.2 + (i % 6) * 0.1).toFixed(2);
  if (kind === 'tone') return ['sine', String(150 + i * 37), 'vol', volume];
  if (kind === 'noise') return [NOISES[i % 3]!, 'vol', volume];
  return ['sine', `${100 + i * 20}-${2000 + i * 90}`, 'vol', volume];
}

/** One labelled recording as written. */
export interface Recording {
  readonly file: string;
  readonly label: SignalClass;
}

/** Writes `perClass` recordings of each class into `dir/audio` (seeded noise, so the same files every run). */
export function writeRecordings(dir: string, perClass: number): Recording[] {
  mkdirSync(join(dir, 'audio'), { recursive: true });
  const recordings: Recording[] = [];
  for (const label of CLASSES) {
    for (let i = 1; i <= perClass; i++) {
      const file = `audio/${label}_${i}.wav`;
      execFileSync('sox', [
        '-R',
        '-n',
        '-r',
        '16000',
        '-b',
        '16',
        '-c',
        '1',
        join(dir, file),
        'synth',
        String(SECONDS),
        ...synth(label, i),
      ]);
      recordings.push({ file, label });
    }
  }
  return recordings;
}

/** A `path,label` CSV of `recordings` in `dir` (paths relative to it). */
export function writeCsv(dir: string, name: string, recordings: readonly Recording[]): string {
  const path = join(dir, name);
  writeFileSync(path, `path,label\n${recordings.map((r) => `${r.file},${r.label}`).join('\n')}\n`);
  return path;
}

/**
 * Every fourth recording of each class is held out from training (the noise colours cycle by three, so both parts have
 * all).
 */
export function splitHeldOut(recordings: readonly Recording[]): { train: Recording[]; heldOut: Recording[] } {
  const index = (r: Recording) => Number(/_(\d+)\.wav$/.exec(r.file)![1]);
  return { train: recordings.filter((r) => index(r) % 4 !== 0), heldOut: recordings.filter((r) => index(r) % 4 === 0) };
}
