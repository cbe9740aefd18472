import type { Request, Response } from 'express';
import { injectable } from 'tsyringe';
import { CheckHealthUseCase } from '../../application/check-health.use-case';
import { HttpProblem } from './http-problem';

@injectable()
export class HealthController {
  constructor(private readonly checkHealth: CheckHealthUseCase) {}

  readonly health = async (_req: Request, res: Response): Promise<void> => {
    if (!(await this.checkHealth.execute())) {
      throw new HttpProblem({
        type: 'about:blank',
        title: 'Service Unavailable',
        status: 503,
        detail: 'The weights database does not answer.',
      });
    }
    res.json({ status: 'ok' });
  };
}
