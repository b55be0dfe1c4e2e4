/** Shared output helpers of the CLI commands. */
import { isEmotion2VecError } from '../errors.js';
import { printable } from '../results/safe-name.js';

/** `{ code, message }` for any error: ours keep their code, anything else is INTERNAL. */
export function errorJson(error: unknown): { code: string; message: string } {
  if (isEmotion2VecError(error)) return error.toJSON();
  return { code: 'INTERNAL', message: (error as Error)?.message ?? String(error) };
}

/** One line on stderr for a failure that ends the command. */
export function reportFatal(error: unknown): void {
  const { code, message } = errorJson(error);
  process.stderr.write(`emotion2vec: error ${code}: ${printable(message)}\n`);
}
