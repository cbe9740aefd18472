import type { Request, Response } from 'express';
import { injectable } from 'tsyringe';
import { CheckHealthUseCase } from '../../application/check-health.use-case';
import { ServiceMetrics } from '../../infrastructure/metrics/service-metrics';
import { IngestionStatus } from '../mqtt/ingestion-status';
import { HttpProblem } from './http-problem';
import { Readiness } from './readiness';
import { noQuerySchema } from './request-schemas';
import { parseQuery } from './validation';

const UNAVAILABLE = { type: 'about:blank', title: 'Service Unavailable', status: 503 } as const;

/**
 * Liveness (/health), readiness (/ready) and Prometheus metrics (/metrics). Like every route,
 * they refuse a query parameter by name (400): probes and scrapers send none, and one that
 * does is misconfigured, which is better seen at setup than ignored.
 */
@injectable()
export class HealthController {
  constructor(
    private readonly checkHealth: CheckHealthUseCase,
    private readonly readiness: Readiness,
    private readonly metrics: ServiceMetrics,
    private readonly ingestion: IngestionStatus,
  ) {}

  /** Alive, and the database answers. */
  readonly health = async (req: Request, res: Response): Promise<void> => {
    parseQuery(noQuerySchema, req.query);
    const unhealthy = await this.checkHealth.execute();
    if (unhealthy) throw new HttpProblem({ ...UNAVAILABLE, detail: `The weights database ${unhealthy}.` }, true);
    res.json({ status: 'ok' });
  };

  /** Healthy, started, and not shutting down: a load balancer may send traffic. */
  readonly ready = async (req: Request, res: Response): Promise<void> => {
    parseQuery(noQuerySchema, req.query);
    const state = this.readiness.current;
    if (state !== 'ready') throw new HttpProblem({ ...UNAVAILABLE, detail: `Not ready: the server is ${state}.` });
    const unhealthy = await this.checkHealth.execute();
    if (unhealthy) throw new HttpProblem({ ...UNAVAILABLE, detail: `Not ready: the weights database ${unhealthy}.` }, true);
    // The broker's state is shown, not judged: HTTP serves whether or not the broker is there.
    const broker = this.ingestion.broker;
    res.json(broker === 'off' ? { status: 'ready' } : { status: 'ready', mqtt: broker });
  };

  readonly prometheus = async (req: Request, res: Response): Promise<void> => {
    parseQuery(noQuerySchema, req.query);
    res.type(this.metrics.registry.contentType).send(await this.metrics.registry.metrics());
  };
}
