/** Whether this instance should get traffic: not while starting, not once shutting down. */
export class Readiness {
  private state: 'starting' | 'ready' | 'stopping' = 'starting';

  markReady(): void {
    if (this.state === 'starting') this.state = 'ready';
  }

  markStopping(): void {
    this.state = 'stopping';
  }

  get current(): 'starting' | 'ready' | 'stopping' {
    return this.state;
  }
}
