/**
 * Imported first by the CLI: a SIGINT or SIGTERM that arrives while the modules load or the
 * arguments are parsed is kept (not the default of dying by the signal) and handed to the run's
 * scope when it exists, which then stops before it starts.
 */
const seen: NodeJS.Signals[] = [];
const onSignal = (sig: NodeJS.Signals) => void seen.push(sig);
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

/** The signals seen so far; from now on the caller's own handlers take over. */
export function takeEarlySignals(): NodeJS.Signals[] {
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  return seen.splice(0);
}

// A reader that goes away (`slim build … | head`) must not kill slim before its cleanup runs:
// what could not be printed is lost, the containers and temp files it made are still removed.
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});
