// What a test server records as it runs, and waiting for a record that satisfies a test.

export interface EventLog<T> {
  readonly events: T[];
  /** Appends e and wakes those waiting. */
  record(e: T): void;
  /** The first record that satisfies pred, waiting up to ms for it; else an error that lists
   *  what `who` recorded (and `more()`). */
  wait(pred: (e: T) => boolean, ms?: number, what?: string): Promise<T>;
}

export function eventLog<T>(who: string, more: () => string = () => ''): EventLog<T> {
  const events: T[] = [];
  let wake: (() => void)[] = [];
  return {
    events,
    record(e) {
      events.push(e);
      const w = wake;
      wake = [];
      for (const f of w) f();
    },
    async wait(pred, ms = 5000, what = 'event') {
      const deadline = performance.now() + ms;
      for (;;) {
        const e = events.find(pred);
        if (e) return e;
        const left = deadline - performance.now();
        if (left <= 0) throw new Error(`${who} saw no ${what} within ${ms} ms; it saw:\n${events.map((x) => JSON.stringify(x)).join('\n')}${more()}`);
        await new Promise<void>((r) => {
          const t = setTimeout(r, left);
          wake.push(() => {
            clearTimeout(t);
            r();
          });
        });
      }
    },
  };
}
