import { inject, injectable } from 'tsyringe';
import { WEIGHTS_REPOSITORY, type WeightsRepository } from './ports/weights.repository';

@injectable()
export class CheckHealthUseCase {
  constructor(@inject(WEIGHTS_REPOSITORY) private readonly repository: WeightsRepository) {}

  /** True when the weights storage answers. */
  async execute(): Promise<boolean> {
    try {
      await this.repository.ping();
      return true;
    } catch {
      return false;
    }
  }
}
