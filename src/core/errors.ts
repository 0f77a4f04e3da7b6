// The one way an error becomes text in messages, logs and events (anything can be thrown).

/** The error's message, or the thrown value as a string. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The first line of the error's message: for one-line summaries (tables, per-run notes). */
export function firstLine(error: unknown): string {
  return errorMessage(error).split('\n')[0];
}
