import type { AlertEvent } from '../../../src/domain/alert-event';
import { alertEventJson, alertEventMessage } from '../../../src/infrastructure/alert-events/alert-event-message';
import { alertEventSchema } from '../../../src/interfaces/http/response-schemas';

const EVENT: AlertEvent = {
  sensorId: 'SEN0001',
  metric: 'params.velRMS.x',
  state: 'raised',
  value: 15,
  threshold: 14,
  mean: 10,
  std: 2,
  zScore: 2.5,
  at: new Date(Date.UTC(2026, 10, 30, 12, 0, 5, 7)),
};

describe('the alert event on the wire', () => {
  it('is one line of JSON with snake_case names, JSON numbers and an ISO-8601 UTC time with milliseconds', () => {
    expect(alertEventJson(EVENT)).toBe(
      '{"sensor_id":"SEN0001","metric":"params.velRMS.x","state":"raised","value":15,"threshold":14,"mean":10,"std":2,"z_score":2.5,"at":"2026-11-30T12:00:05.007Z"}',
    );
  });

  it('keeps the full precision of each number (shortest round-trip form)', () => {
    const event = { ...EVENT, state: 'cleared' as const, value: 0.1 + 0.2, mean: 1e-300, std: 5e-324, threshold: 1.7976931348623157e308, zScore: -0.5 };
    expect(JSON.parse(alertEventJson(event))).toEqual({
      sensor_id: 'SEN0001', metric: 'params.velRMS.x', state: 'cleared',
      value: 0.30000000000000004, threshold: 1.7976931348623157e308, mean: 1e-300, std: 5e-324, z_score: -0.5, at: '2026-11-30T12:00:05.007Z',
    });
  });

  it.each([null, Infinity, -Infinity, NaN])('gives z_score null for a z-score of %p', (zScore) => {
    expect(alertEventJson({ ...EVENT, zScore })).toContain('"z_score":null');
  });

  it('has exactly the fields of the AlertEvent schema the OpenAPI document shows, and satisfies it', () => {
    const message = alertEventMessage(EVENT);
    // `reason` appears only on a deleted model's cleared event.
    expect(Object.keys(message)).toEqual(Object.keys(alertEventSchema.shape).filter((field) => field !== 'reason'));
    expect(alertEventSchema.parse(message)).toEqual(message);
    const deleted = alertEventMessage({ ...EVENT, state: 'cleared', reason: 'model_deleted' });
    expect(Object.keys(deleted)).toEqual(Object.keys(alertEventSchema.shape));
    expect(alertEventSchema.parse(deleted)).toEqual(deleted);
    const example = (alertEventSchema.meta() as { example: unknown }).example;
    expect(Object.keys(alertEventSchema.parse(example))).toEqual(Object.keys(message));
  });
});
