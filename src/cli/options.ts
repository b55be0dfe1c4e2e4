/** Option parsers shared by the CLI's commands. */
import { InvalidArgumentError, Option } from 'commander';

export function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer.');
  return n;
}

export function portNumber(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError('expected a port number (0 to 65535).');
  return n;
}

export function nonNegativeInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected an integer >= 0.');
  return n;
}

export function fraction(value: string): number {
  const n = Number(value);
  if (!(n >= 0 && n <= 1)) throw new InvalidArgumentError('expected a number from 0 to 1.');
  return n;
}

export function positiveNumber(value: string): number {
  const n = Number(value);
  if (!(n > 0) || !Number.isFinite(n)) throw new InvalidArgumentError('expected a positive number.');
  return n;
}

export function nonNegativeNumber(value: string): number {
  const n = Number(value);
  if (!(n >= 0) || !Number.isFinite(n)) throw new InvalidArgumentError('expected a number >= 0.');
  return n;
}

/** Help of --max-duration (analyze, serve, worker): the same bound everywhere, defaults differ. */
export const MAX_DURATION_HELP =
  'longest audio to analyse, in seconds; longer inputs fail with AUDIO_TOO_LONG before they are decoded';

/** A comma-separated list (`a,b, c`), empty entries dropped. */
export function commaList(value: string): string[] {
  const items = value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
  if (items.length === 0) throw new InvalidArgumentError('expected a comma-separated list.');
  return items;
}

/** `--compute <type>` (LoadOptions.compute) of the commands that load a model to analyse audio. */
export function computeOption(): Option {
  return new Option(
    '--compute <type>',
    "what the encoder's matrices compute in: float32 (exact) or int8 (faster, on wasm; default for a --dtype int8 folder)",
  ).choices(['float32', 'int8']);
}
