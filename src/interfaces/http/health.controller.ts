import type { Request, Response } from 'express';
import { injectable } from 'tsyringe';
import { CheckHealthUseCase } from '../../application/check-health.use-case';
import { ServiceMetrics } from '../../infrastructure/metrics/service-metrics';
import { IngestionStatus } from '../mqtt/ingestion-status';
import { HttpProblem } from './http-problem';
import { Readiness } from './readiness';

const UNAVAILABLE = { type: 'about:blank', title: 'Service Unavailable', status: 503 } as const;

/** Liveness (/health), readiness (/ready) and Prometheus metrics (/metrics). */
@injectable()
export class HealthController {
  constructor(
    private readonly checkHealth: CheckHealthUseCase,
    private readonly readiness: Readiness,
    private readonly metrics: ServiceMetrics,
    private readonly ingestion: IngestionStatus,
  ) {}

  /** Alive, and the database answers. */
  readonly health = async (_req: Request, res: Response): Promise<void> => {
    if (!(await this.checkHealth.execute())) throw new HttpProblem({ ...UNAVAILABLE, detail: 'The weights database does not answer.' });
    res.json({ status: 'ok' });
  };

  /** Healthy, started, and not shutting down: a load balancer may send traffic. */
  readonly ready = async (_req: Request, res: Response): Promise<void> => {
    const state = this.readiness.current;
    if (state !== 'ready') throw new HttpProblem({ ...UNAVAILABLE, detail: `Not ready: the server is ${state}.` });
    if (!(await this.checkHealth.execute())) throw new HttpProblem({ ...UNAVAILABLE, detail: 'Not ready: the weights database does not answer.' });
    // The broker's state is shown, not judged: HTTP serves whether or not the broker is there.
    const broker = this.ingestion.broker;
    res.json(broker === 'off' ? { status: 'ready' } : { status: 'ready', mqtt: broker });
  };

  readonly prometheus = async (_req: Request, res: Response): Promise<void> => {
    res.type(this.metrics.registry.contentType).send(await this.metrics.registry.metrics());
  };
}
