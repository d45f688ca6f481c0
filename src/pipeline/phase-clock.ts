/** The phases a build's report times. */
export type Phase = 'read' | 'probe' | 'closure' | 'pack' | 'verify' | 'repair' | 'rebuild';

/** Seconds spent in each phase; a phase entered more than once (pack, verify after a repair) adds up. */
export class PhaseClock {
  private readonly started = Date.now();
  private readonly spent = new Map<Phase, number>();

  async time<T>(phase: Phase, work: () => Promise<T>): Promise<T> {
    const t = Date.now();
    try {
      return await work();
    } finally {
      this.spent.set(phase, this.seconds(phase) + (Date.now() - t) / 1000);
    }
  }

  seconds(phase: Phase): number {
    return this.spent.get(phase) ?? 0;
  }

  total(): number {
    return (Date.now() - this.started) / 1000;
  }
}
