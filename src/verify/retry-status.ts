import { retryStatusText, type StatusLine } from '../progress.js';

/** The status line of one check's retries: shown from its first failure, ticking every second, cleared when it is done. */
export interface RetryStatus {
  /** Attempt `attempt` failed saying `output`; the next is on its way. */
  failed(attempt: number, output: string): void;
  done(): void;
}

const NONE: RetryStatus = { failed() {}, done() {} };

/**
 * Retries can go on for a minute with nothing printed; the line says what is waited for, for how
 * long, and what the check said last, so a wrong port or a typo shows before the timeout does.
 */
export function retryStatus(status: StatusLine | undefined, name: string, started: number, now: () => number = Date.now): RetryStatus {
  if (!status) return NONE;
  let state: { attempt: number; output: string } | undefined;
  let timer: NodeJS.Timeout | undefined;
  const draw = () => {
    if (state) status.show(retryStatusText({ name, elapsedSeconds: (now() - started) / 1000, attempt: state.attempt + 1, lastOutput: state.output }));
  };
  return {
    failed(attempt, output) {
      state = { attempt, output };
      draw();
      if (!timer) {
        timer = setInterval(draw, 1000);
        // A status line never keeps slim running.
        timer.unref();
      }
    },
    done() {
      if (timer) clearInterval(timer);
      timer = undefined;
      if (state) status.clear();
      state = undefined;
    },
  };
}
