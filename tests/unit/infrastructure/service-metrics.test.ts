import { ServiceMetrics } from '../../../src/infrastructure/metrics/service-metrics';

describe('ServiceMetrics', () => {
  it('exposes the requests in flight as counted at the moment of the scrape', async () => {
    const metrics = new ServiceMetrics();
    expect(await metrics.registry.metrics()).toMatch(/^http_requests_in_flight 0$/m);
    metrics.requestStarted();
    metrics.requestStarted();
    metrics.requestStarted();
    metrics.requestEnded();
    expect(await metrics.registry.metrics()).toMatch(/^http_requests_in_flight 2$/m);
    metrics.requestEnded();
    metrics.requestEnded();
    expect(await metrics.registry.metrics()).toMatch(/^http_requests_in_flight 0$/m);
  });
});
