/**
 * Node entry point: the isomorphic library plus what only Node has — file paths, ffmpeg as a last-resort audio
 * decoder, the disk cache of hub models, the native TensorFlow backend (@tensorflow/tfjs-node-gpu or tfjs-node,
 * when installed), the wasm files in node_modules — and the Node-only helpers: conversion, head training and
 * evaluation from files, result folders.
 */
import { installNodePlatform } from './node-platform.js';

export * from './index.js';
export { convertModel, type ConvertOptions, type ConversionReport } from './model/convert.js';
export type { ConvertedManifest } from './model/converted.js';
export { trainHead, writeHead, type TrainHeadOptions, type TrainHeadResult } from './train/train-head.js';
export { evaluate, type EvaluateOptions, type EvaluationReport } from './train/evaluate.js';
export type { DataSource } from './train/dataset.js';
export { NpyFileWriter } from './io/npy-file.js';
export {
  writeResultFolder,
  readCompleteResult,
  EmbeddingFileStream,
  EmbeddingStreams,
  RESULT_FILE,
  EMBEDDING_FILE,
  PROCESSED_AUDIO_FILE,
  type ResultFolderContents,
  type WrittenResultFolder,
} from './results/folder.js';
export { writeSummaryCsv, SUMMARY_FILE, type SummaryEntry } from './results/summary.js';
export { safeOutputName, uniqueOutputNames, printable } from './results/safe-name.js';

installNodePlatform();
