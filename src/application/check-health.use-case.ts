import { inject, injectable } from 'tsyringe';
import { WEIGHTS_REPOSITORY, type WeightsRepository } from './ports/weights.repository';
import { StorageUnavailableError } from './storage-unavailable.error';

@injectable()
export class CheckHealthUseCase {
  constructor(@inject(WEIGHTS_REPOSITORY) private readonly repository: WeightsRepository) {}

  /**
   * Undefined when the weights storage answers; else why not, as the end of a sentence
   * ("does not answer", or a condition only a restart mends, such as a deleted file).
   */
  async execute(): Promise<string | undefined> {
    try {
      await this.repository.ping();
      return undefined;
    } catch (error) {
      // Only our own wording goes out on these unauthenticated routes: a driver's message may name hosts.
      return error instanceof StorageUnavailableError && !error.retryable ? `cannot serve: ${error.reason}` : 'does not answer';
    }
  }
}
