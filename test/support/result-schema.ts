/**
 * The record's JSON Schema (schema/result.schema.json, shipped in the package) as the tests hold every surface to
 * it: validated with ajv (draft 2020-12, strict but for `required` inside `oneOf` branches), plus what a schema cannot say (see its description): the keys of
 * `scores` are the labels' names in order, `emotion` / `confidence` are the highest score, `emotion_zh` its
 * label's, and `timestamp` / `timestamp_iso` are one moment.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Ajv2020 from 'ajv/dist/2020.js';
import { expect } from 'vitest';
import { localTimestamp } from '../../src/results/record.js';

export const RESULT_SCHEMA_PATH = fileURLToPath(new URL('../../schema/result.schema.json', import.meta.url));
const schema = JSON.parse(readFileSync(RESULT_SCHEMA_PATH, 'utf8')) as object;
const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true });
const validate = ajv.compile(schema);

interface ResultLike {
  emotion: string | null;
  emotion_zh: string | null;
  confidence: number | null;
  scores: Record<string, number>;
  labels: { name: string; zh: string | null }[];
  timestamp: string;
  timestamp_iso: string;
}

/** Fails the test unless `record` is a valid record (a result or an error record); returns it typed loosely. */
export function expectValidRecord(record: unknown, what = 'record'): Record<string, unknown> {
  const valid = validate(record);
  expect(valid, `${what} does not match schema/result.schema.json: ${ajv.errorsText(validate.errors)}`).toBe(true);
  const value = record as Record<string, unknown>;
  if (!('error' in value)) checkResultInvariants(value as unknown as ResultLike, what);
  return value;
}

/** As {@link expectValidRecord}, and it must be a result, not an error record. */
export function expectValidResult(record: unknown, what = 'result'): Record<string, unknown> {
  expect(record, what).not.toHaveProperty('error');
  return expectValidRecord(record, what);
}

function checkResultInvariants(record: ResultLike, what: string): void {
  const names = record.labels.map((label) => label.name);
  expect(Object.keys(record.scores), `${what}: scores keyed by the labels' names, in order`).toEqual(names);
  if (record.emotion !== null) {
    const best = Math.max(...Object.values(record.scores));
    expect(record.confidence, `${what}: confidence is the top score`).toBe(record.scores[record.emotion]);
    expect(record.confidence, `${what}: the top score is the highest`).toBe(best);
    const top = record.labels[names.indexOf(record.emotion)]!;
    expect(record.emotion_zh, `${what}: emotion_zh is the top label's`).toBe(top.zh);
  } else {
    expect(names, `${what}: no emotion only without labels`).toEqual([]);
  }
  expect(localTimestamp(new Date(record.timestamp_iso)), `${what}: one moment`).toBe(record.timestamp);
}
