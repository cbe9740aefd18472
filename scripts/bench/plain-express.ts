// The ceilings for bench:api: a bare Express 5 app, JSON body parser on, answering every
// benchmarked route with res.json(true). With --observed, the same app behind the service's
// own request ids, request logs (to stdout, at LOG_LEVEL) and metrics: what the observability
// we require costs by itself, so that the gap from it to our server is what our routes cost.
// Usage: node dist/scripts/bench/plain-express.js PORT [--observed]
import express from 'express';
import type { LogLevel } from '../../src/config';
import { PinoLogger } from '../../src/infrastructure/logging/pino-logger';
import { ServiceMetrics } from '../../src/infrastructure/metrics/service-metrics';
import { observeRequests } from '../../src/interfaces/http/observability.middleware';

const app = express();
app.disable('x-powered-by');
if (process.argv[3] === '--observed') {
  // As createApp mounts them: first, with Node's own metrics collected too.
  const metrics = new ServiceMetrics();
  metrics.collectProcessMetrics();
  const level = (process.env.LOG_LEVEL ?? 'info') as LogLevel; // pino refuses a level it does not know
  app.use(observeRequests(new PinoLogger(level, 'json').pino, metrics));
}
app.use(express.json({ limit: '16mb' }));
const answer: express.RequestHandler = (_req, res) => void res.json(true);
app.post('/:sensor_id/predict', answer);
app.get('/:sensor_id/weights', answer);
app.post('/:sensor_id/fit', answer);
app.post('/predict', answer);
app.listen(Number(process.argv[2]), '127.0.0.1');
