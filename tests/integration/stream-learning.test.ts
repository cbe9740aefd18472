import { rmSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import type { DependencyContainer } from 'tsyringe';
import { IngestReadingsUseCase, type ReadingOutcome } from '../../src/application/ingest-readings.use-case';
import { StreamLearner } from '../../src/application/stream-learner';
import { loadConfig } from '../../src/config';
import { closeContainer, createContainer } from '../../src/container';
import { MetricName } from '../../src/domain/metric-name';
import { Sensor } from '../../src/domain/sensor';
import { createApp } from '../../src/interfaces/http/create-app';
import { exactMean, stdRelativeError } from '../support/exact-statistics';
import { createTestDatabase, testPostgres } from '../support/postgres-server';
import { makeTempDir } from '../support/test-app';

interface Backend {
  readonly name: string;
  open(): Promise<{ env: NodeJS.ProcessEnv; close(): Promise<void> }>;
}

const sqlite: Backend = {
  name: 'SQLite',
  open: async () => {
    const directory = makeTempDir();
    return { env: { DB_PATH: join(directory, 'sensors.db') }, close: async () => rmSync(directory, { recursive: true, force: true }) };
  },
};

function postgres(adminUrl: string): Backend {
  return {
    name: 'PostgreSQL',
    open: async () => {
      const database = await createTestDatabase(adminUrl, 'stream_learning');
      return { env: { DATABASE_URL: database.url }, close: () => database.drop() };
    },
  };
}

const server = testPostgres();
const backends: Backend[] = 'url' in server ? [sqlite, postgres(server.url)] : [sqlite];
if ('unavailable' in server) console.warn(`SKIPPED the PostgreSQL half of learning from the stream: ${server.unavailable}`);

/** Readings spread over ~[0.045, 0.102), as vibration RMS values are, with a few spikes; from a fixed seed. */
function streamed(count: number, seed: number): number[] {
  let state = seed;
  const next = () => (state = (state * 1103515245 + 12345) % 2147483648) / 2147483648;
  return Array.from({ length: count }, (_, index) => (index % 17 === 5 ? 0.3 + next() : 0.045 + 0.057 * next()));
}

const ORIGINAL = streamed(40, 1).map((value) => Math.min(value, 0.1));

describe.each(backends)('learning from the stream on $name', (backend) => {
  let opened: Awaited<ReturnType<Backend['open']>>;
  beforeAll(async () => {
    opened = await backend.open();
  });
  afterAll(() => opened?.close());

  // LEARN_FROM_STREAM needs MQTT_URL in the environment; the learner itself does not, so the
  // setting is given to the container directly and no broker is involved.
  const open = (batchSize: number) =>
    createContainer({ ...loadConfig({ LOG_LEVEL: 'silent', ...opened.env }), learnFromStream: { enabled: true, batchSize, batchMs: 60_000 } });
  // createApp once per container: it registers the process metrics.
  const appOf = (container: DependencyContainer) => request(createApp(container));

  it('after streaming A, the model is fit(original ++ A minus its alerts): n and mean exactly, std to its last bits', async () => {
    let container = await open(64);
    let api = appOf(container);
    await api.post('/LEARN1/fit').send({ values: ORIGINAL }).expect(200);
    const a = streamed(1000, 2);
    const learned: number[] = [];
    const ingest = container.resolve(IngestReadingsUseCase);
    for (let start = 0; start < a.length; start += 100) {
      const chunk = a.slice(start, start + 100);
      const outcomes: ReadingOutcome[] = await ingest.execute(chunk.map((value) => ({ sensor: Sensor.withId('LEARN1'), metric: MetricName.DEFAULT, value, at: new Date() })));
      learned.push(...chunk.filter((_, index) => outcomes[index] === 'no_alert'));
      expect(outcomes.filter((outcome) => outcome === 'alert').length).toBeGreaterThan(0);
    }
    // What waits is merged at close, before the storage closes.
    await closeContainer(container);
    container = await open(64);
    api = appOf(container);
    try {
      const model = (await api.get('/LEARN1/weights').expect(200)).body;
      const all = [...ORIGINAL, ...learned];
      expect(learned.length).toBeGreaterThan(800);
      expect(learned.every((value) => value < 0.3)).toBe(true);
      expect(model.n).toBe(all.length);
      expect(model.mean).toBe(exactMean(all));
      expect(stdRelativeError(model.std, all)).toBeLessThanOrEqual(1e-15);
      const fitted = (await api.post('/LEARN1-ALL/fit').send({ values: all }).expect(200)).body;
      expect(model.mean).toBe(fitted.mean);
      expect(model.n).toBe(fitted.n);
      expect(Math.abs(model.std - fitted.std) / fitted.std).toBeLessThanOrEqual(2e-15);
      // One revision per batch, not per reading. How many batches depends on timing: readings
      // that arrive while a merge is under way join the next one, so slower storage makes fewer.
      const history = (await api.get('/LEARN1/weights/history?limit=1000').expect(200)).body as Array<{ change: string }>;
      const updates = history.filter(({ change }) => change === 'update').length;
      expect(updates).toBeGreaterThanOrEqual(1);
      expect(updates).toBeLessThanOrEqual(Math.ceil(learned.length / 64));
    } finally {
      await closeContainer(container);
    }
  });

  it('learns nothing into a model deleted, or refitted, while the readings waited: the new model is its fit alone', async () => {
    const container = await open(1000);
    const api = appOf(container);
    try {
      for (const id of ['GONE1', 'REFIT1']) await api.post(`/${id}/fit`).send({ values: [1, 2, 3, 4] }).expect(200);
      const reading = (id: string, value: number) => ({ sensor: Sensor.withId(id), metric: MetricName.DEFAULT, value, at: new Date() });
      expect(await container.resolve(IngestReadingsUseCase).execute([reading('GONE1', 2.5), reading('GONE1', 3), reading('REFIT1', 2.5)])).toEqual(['no_alert', 'no_alert', 'no_alert']);
      await api.delete('/GONE1/weights').expect(200);
      await api.post('/GONE1/fit').send({ values: [100, 102] }).expect(200);
      await api.post('/REFIT1/fit').send({ values: [100, 102] }).expect(200);
      await container.resolve(StreamLearner).flush();
      for (const id of ['GONE1', 'REFIT1']) {
        expect((await api.get(`/${id}/weights`).expect(200)).body).toMatchObject({ n: 2, mean: 101 });
        expect(((await api.get(`/${id}/weights/history`).expect(200)).body as Array<{ change: string }>)[0]!.change).toBe('fit');
      }
    } finally {
      await closeContainer(container);
    }
  });
});
