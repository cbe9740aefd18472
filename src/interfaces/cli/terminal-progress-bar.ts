import type { WriteStream } from 'node:tty';

/** A one-line bar redrawn in place, at most every 100 ms. */
export class TerminalProgressBar {
  private readonly startedAt = performance.now();
  private lastDrawAt = 0;
  private drawn = false;

  constructor(private readonly stream: WriteStream) {}

  update(done: number, total: number): void {
    const now = performance.now();
    if (now - this.lastDrawAt < 100 || total <= 0) return;
    this.lastDrawAt = now;
    const fraction = Math.min(1, done / total);
    const width = Math.max(10, Math.min(40, (this.stream.columns ?? 80) - 45));
    const filled = Math.round(fraction * width);
    const seconds = (now - this.startedAt) / 1000;
    this.stream.write(
      `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% ` +
        `${(done / 1e6).toFixed(0)}/${(total / 1e6).toFixed(0)} MB ${(done / 1e6 / seconds).toFixed(0)} MB/s`,
    );
    this.drawn = true;
  }

  finish(): void {
    if (this.drawn) this.stream.write('\r\x1b[2K');
    this.drawn = false;
  }
}
