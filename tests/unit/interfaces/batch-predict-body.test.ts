import fc from 'fast-check';
import { isPlainBatch, readBatchPredictBody } from '../../../src/interfaces/http/batch-predict-body';
import { BATCH_LIMIT, batchPredictBodySchema } from '../../../src/interfaces/http/request-schemas';
import { HttpProblem } from '../../../src/interfaces/http/http-problem';

// Items that are often right and sometimes subtly wrong: the hand check must never say yes
// where the schema says no.
const field = fc.oneof(fc.string(), fc.double(), fc.integer(), fc.constant(null), fc.boolean(), fc.array(fc.integer(), { maxLength: 2 }));
const item = fc.oneof(
  fc.record({ sensor_id: fc.string(), value: fc.double({ noNaN: true, noDefaultInfinity: true }) }),
  fc.record({ sensor_id: fc.string(), value: fc.double({ noNaN: true, noDefaultInfinity: true }), metric: fc.string() }),
  fc.record({ sensor_id: field, value: field, metric: field }, { requiredKeys: [] }),
  fc.dictionary(fc.constantFrom('sensor_id', 'value', 'metric', 'extra', '__proto__'), field),
  field,
);
// Batches of well-formed items only: without them, about 3% of the bodies would be plain.
const plainItem = fc.oneof(
  fc.record({ sensor_id: fc.string(), value: fc.double({ noNaN: true, noDefaultInfinity: true }) }),
  fc.record({ sensor_id: fc.string(), value: fc.double({ noNaN: true, noDefaultInfinity: true }), metric: fc.string() }),
);
const body = fc.oneof(
  fc.record({ items: fc.array(plainItem, { minLength: 1, maxLength: 6 }) }),
  fc.record({ items: fc.array(item, { maxLength: 5 }) }),
  fc.record({ items: fc.array(item, { maxLength: 3 }), other: field }),
  fc.dictionary(fc.constantFrom('items', 'Items', 'other'), fc.oneof(field, fc.array(item, { maxLength: 3 }))),
  field,
);

describe('batch predict body: the hand check in front of the schema', () => {
  it('says yes only to bodies the schema accepts, and they come out unchanged', () => {
    const RUNS = 5000;
    let checked = 0;
    let severalItems = 0;
    fc.assert(
      fc.property(body, (candidate) => {
        const json: unknown = JSON.parse(JSON.stringify(candidate) ?? 'null');
        if (!isPlainBatch(json)) return;
        const parsed = batchPredictBodySchema.safeParse(json);
        expect(parsed.success).toBe(true);
        expect(parsed.data).toEqual(json);
        checked++;
        if ((json as { items: unknown[] }).items.length > 1) severalItems++;
      }),
      { numRuns: RUNS },
    );
    // The property holds trivially when the generator yields no plain batch: make sure it
    // yielded many (about a fifth of the bodies), most of them several items long.
    expect(checked).toBeGreaterThanOrEqual(RUNS / 10);
    expect(severalItems).toBeGreaterThanOrEqual(RUNS / 20);
  });

  it('says yes to the common shapes, so the fast path is actually taken', () => {
    expect(isPlainBatch({ items: [{ sensor_id: 'SEN0001', value: 1.5 }, { sensor_id: 'SEN0002', value: -2, metric: 'params.velRMS.x' }] })).toBe(true);
    expect(isPlainBatch({ items: Array.from({ length: BATCH_LIMIT }, () => ({ sensor_id: 'S', value: 0 })) })).toBe(true);
  });

  it.each([
    ['no items', { items: [] }],
    ['too many items', { items: Array.from({ length: BATCH_LIMIT + 1 }, () => ({ sensor_id: 'S', value: 0 })) }],
    ['an extra top-level field', { items: [{ sensor_id: 'S', value: 0 }], more: 1 }],
    ['an extra item field', { items: [{ sensor_id: 'S', value: 0, unit: 'mm/s' }] }],
    ['a null metric', { items: [{ sensor_id: 'S', value: 0, metric: null }] }],
    ['a string value', { items: [{ sensor_id: 'S', value: '0' }] }],
    ['a numeric sensor id', { items: [{ sensor_id: 7, value: 0 }] }],
    ['an array item', { items: [['S', 0]] }],
  ])('leaves %s to the schema, which refuses it with 422', (_case, refused) => {
    expect(isPlainBatch(refused)).toBe(false);
    expect(() => readBatchPredictBody(refused)).toThrow(HttpProblem);
    try {
      readBatchPredictBody(refused);
    } catch (error) {
      expect((error as HttpProblem).problem.status).toBe(422);
    }
  });
});
