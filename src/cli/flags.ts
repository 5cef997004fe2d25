/**
 * Command-line helpers shared by the `mlm` commands: argument parsing whose errors point to --help,
 * and checked conversions of flag values. A `UsageError` (bad arguments) makes `mlm` exit with 2,
 * any other error with 1, as most command-line tools do.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";

/** Bad command-line arguments (exit code 2); the message says what was expected. */
export class UsageError extends Error {}

/** `util.parseArgs` (strict) whose errors become one-line UsageErrors pointing to `mlm COMMAND --help`. */
export function parseCommandArgs<T extends ParseArgsConfig>(
  command: string,
  config: T,
): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config); // strict unless the config says otherwise
  } catch (err) {
    throw new UsageError(`${(err as Error).message.split("\n")[0]} (see mlm ${command} --help)`);
  }
}

/** An integer flag value >= min. */
export function intFlag(flag: string, text: string, min: number): number {
  const n = Number(text);
  if (text.trim() === "" || !Number.isInteger(n) || n < min)
    throw new UsageError(`${flag} expects an integer >= ${min}, got "${text}"`);
  return n;
}

/** A number in (0, 1]. */
export function fractionFlag(flag: string, text: string): number {
  const n = Number(text);
  if (text.trim() === "" || !(n > 0 && n <= 1))
    throw new UsageError(`${flag} expects a number in (0, 1], got "${text}"`);
  return n;
}

/** One of a fixed set of words. */
export function choiceFlag<C extends string>(flag: string, text: string, choices: readonly C[]): C {
  if (!(choices as readonly string[]).includes(text))
    throw new UsageError(`${flag} must be ${choices.slice(0, -1).join(", ")} or ${choices.at(-1)}, got "${text}"`);
  return text as C;
}
