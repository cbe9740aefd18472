// The ceiling for bench:api: a bare Express 5 app, JSON body parser on, answering every
// benchmarked route with res.json(true). Usage: node dist/scripts/bench/plain-express.js PORT
import express from 'express';

const app = express();
app.disable('x-powered-by');
app.use(express.json({ limit: '16mb' }));
const answer: express.RequestHandler = (_req, res) => void res.json(true);
app.post('/:sensor_id/predict', answer);
app.get('/:sensor_id/weights', answer);
app.post('/:sensor_id/fit', answer);
app.post('/predict', answer);
app.listen(Number(process.argv[2]), '127.0.0.1');
