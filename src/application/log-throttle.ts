/**
 * Lets through at most one log line per `intervalMs` about one kind of event (a flood of bad
 * messages, a sink failing on every event), and counts the events held back meanwhile for
 * the next line to say. `now` is the clock in milliseconds (Date.now, performance.now).
 */
export class LogThrottle {
  private loggedAt = -Infinity;
  private heldBack = 0;

  constructor(
    private readonly intervalMs: number,
    private readonly now: () => number,
  ) {}

  /** For one event: undefined when its line is held back, else how many were held back before it. */
  pass(): number | undefined {
    const now = this.now();
    if (now - this.loggedAt < this.intervalMs) {
      this.heldBack++;
      return undefined;
    }
    this.loggedAt = now;
    const heldBack = this.heldBack;
    this.heldBack = 0;
    return heldBack;
  }
}
