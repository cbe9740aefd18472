import request from 'supertest';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { createTestApp, type TestApp } from '../support/test-app';

// Hostile bodies and URLs whose cost or answer must stay bounded whatever their size.
describe('bounded answers to hostile input', () => {
  let testApp: TestApp;
  let api: ReturnType<typeof request>;

  beforeAll(async () => {
    testApp = await createTestApp();
    api = request(testApp.app);
  });
  afterAll(() => testApp.close());

  const postJson = (path: string, body: string) => api.post(path).set('Content-Type', 'application/json').send(body);

  describe('arrays of wrong-typed items: one pass, the first 10 worded, the rest counted', () => {
    // zod wording a million issues took seconds and gigabytes (4M: 53 s, 2.8 GB) while every other request waited.
    it.each(['fit', 'update'])('/SEN1/%s with 1,000,000 strings', async (route) => {
      const body = `{"values":[${Array(1_000_000).fill('"a"').join(',')}]}`;
      const response = await postJson(`/SEN1/${route}`, body).expect(422);
      expect(response.body.errors).toHaveLength(10);
      expect(response.body.errors[9]).toEqual({ pointer: '#/values/9', detail: 'Invalid input: expected number, received string' });
      expect(response.body.detail).toMatch(/^1000000 invalid items in #\/values; the first 10 problems: #\/values\/0: /);
    });

    it('batch /predict with 100,000 items of six faults each', async () => {
      const item = '{"sensor_id":1,"value":"x","metric":2,"a":1,"b":2,"c":3}';
      const response = await postJson('/predict', `{"items":[${Array(100_000).fill(item).join(',')}]}`).expect(422);
      // Six faults of each of the first 10 items, cut to the first 20.
      expect(response.body.errors).toHaveLength(20);
      expect(response.body.errors.slice(0, 6)).toEqual([
        { pointer: '#/items/0/sensor_id', detail: 'Invalid input: expected string, received number' },
        { pointer: '#/items/0/value', detail: 'Invalid input: expected number, received string' },
        { pointer: '#/items/0/metric', detail: 'Invalid input: expected string, received number' },
        { pointer: '#/items/0/a', detail: 'Unexpected field' },
        { pointer: '#/items/0/b', detail: 'Unexpected field' },
        { pointer: '#/items/0/c', detail: 'Unexpected field' },
      ]);
      expect(response.body.detail).toMatch(/^100000 invalid items in #\/items; the first 20 problems: /);
    });

    it('batch /predict with 100,000 distinct invalid sensor ids: the first 20 listed, all counted', async () => {
      const items = Array.from({ length: 100_000 }, (_, index) => ({ sensor_id: `bad id ${index}`, value: 1 }));
      const response = await postJson('/predict', JSON.stringify({ items })).expect(422);
      expect(response.body.errors).toHaveLength(20);
      expect(response.body.errors[19].pointer).toBe('#/items/19/sensor_id');
      expect(response.body.detail).toMatch(/^100000 problems; the first 20: #\/items\/0\/sensor_id: /);
    });
  });

  describe('user strings echoed in an answer are cut to 80 characters and their length', () => {
    it.each([
      ['15,000 letters', 'x'.repeat(15_000), `"${'x'.repeat(80)}"… (15000 characters)`],
      ['5,000 NULs', '%00'.repeat(5000), `"${'\\u0000'.repeat(80)}"… (5000 characters)`],
    ])('an unknown query parameter named by %s', async (_label, name, shown) => {
      const response = await api.get(`/A/weights?${name}=1`).expect(400);
      expect(response.text.length).toBeLessThan(1500);
      expect(response.body.errors).toEqual([{ parameter: shown, detail: 'Unknown query parameter; this route takes ?metric=' }]);
    });
  });

  describe('bodies we do not decode: 415, read no further', () => {
    const json = '{"values":[1,2]}';
    it.each([
      ['gzip', gzipSync(json)],
      ['deflate', deflateSync(json)],
      ['br', brotliCompressSync(json)],
      ['x-unknown', Buffer.from(json)],
    ])('Content-Encoding %s', async (encoding, body) => {
      const response = await api.post('/SEN9/fit').set('Content-Type', 'application/json').set('Content-Encoding', encoding).send(body).expect(415);
      expect(response.headers['content-type']).toBe('application/problem+json; charset=utf-8');
      expect(response.body).toEqual({
        type: 'about:blank',
        title: 'Unsupported Media Type',
        status: 415,
        detail: `Send the body uncompressed: Content-Encoding "${encoding}" is not accepted.`,
        request_id: expect.any(String),
      });
      await api.get('/SEN9/weights').expect(404);
    });

    it('an inflated bomb on batch /predict: 415, no misleading 413', async () => {
      const bomb = gzipSync(Buffer.alloc(20 * 1024 ** 2 + 1, ' '));
      const response = await api.post('/predict').set('Content-Type', 'application/json').set('Content-Encoding', 'gzip').send(bomb).expect(415);
      expect(response.body.detail).toBe('Send the body uncompressed: Content-Encoding "gzip" is not accepted.');
    });

    it('Content-Encoding identity is a plain body', async () => {
      await api.post('/SEN9/fit').set('Content-Type', 'application/json').set('Content-Encoding', 'identity').send(json).expect(200);
    });

    it.each(['utf-16', 'UTF-16LE', 'utf-32', 'latin1'])('a JSON body in charset %s', async (charset) => {
      const response = await api.post('/SEN8/fit').set('Content-Type', `application/json; charset=${charset}`).send(Buffer.from(json, 'utf16le')).expect(415);
      expect(response.body.detail).toBe(`Send the body as UTF-8 JSON (received charset "${charset}").`);
    });

    it.each(['utf-8; charset=latin1', 'latin1; charset=utf-8'])('two charsets, one not UTF-8 (%s): 415 whichever comes first', async (charsets) => {
      const response = await api.post('/SEN8/fit').set('Content-Type', `application/json; charset=${charsets}`).send(json).expect(415);
      expect(response.body.detail).toBe('Send the body as UTF-8 JSON (received charset "latin1").');
    });

    it.each(['utf-8', 'UTF-8', '"utf-8"'])('charset %s is accepted', async (charset) => {
      await api.post('/SEN7/fit').set('Content-Type', `application/json; charset=${charset}`).send(json).expect(200);
    });
  });

  it('says once that a rollback version is past the safe integers', async () => {
    await postJson('/RB1/fit', '{"values":[1,2]}').expect(200);
    const response = await postJson('/RB1/rollback', '{"version":1e20}').expect(422);
    expect(response.body.errors).toEqual([{ pointer: '#/version', detail: 'Too big: expected int to be <=9007199254740991' }]);
    expect(response.body.detail).toBe('#/version: Too big: expected int to be <=9007199254740991');
  });

  // Documented (README, Security and hostile input): refusing would cost a second pass over every body.
  it('takes the last of duplicate keys, as JSON.parse does', async () => {
    const response = await postJson('/DUP1/fit', '{"values":[1,2],"values":[3,5]}').expect(200);
    expect(response.body).toMatchObject({ mean: 4, n: 2 });
  });
});
