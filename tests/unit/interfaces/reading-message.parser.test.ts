import { MAX_READING_PAYLOAD_BYTES, ReadingMessageParser } from '../../../src/interfaces/mqtt/reading-message.parser';

const RECEIVED = new Date('2026-11-30T10:00:00.000Z');
const parser = new ReadingMessageParser('site/+/readings');
const parse = (payload: string | Buffer, topic = 'site/SEN1/readings') => parser.parse(topic, Buffer.isBuffer(payload) ? payload : Buffer.from(payload), RECEIVED);
const plain = (payload: string | Buffer, topic?: string) => {
  const parsed = parse(payload, topic);
  return 'invalid' in parsed ? parsed.invalid : parsed.readings.map((r) => [r.sensor.id, r.metric.name, r.value, r.at.toISOString()]);
};

describe('ReadingMessageParser', () => {
  it('reads the three shapes; the sensor id is the + level; "at" or the receipt time', () => {
    expect(plain('{"value": 0.0123}')).toEqual([['SEN1', 'value', 0.0123, '2026-11-30T10:00:00.000Z']]);
    expect(plain('{"metric": "params.velRMS.x", "value": -1.5e-3, "at": "2026-11-30T09:00:00+02:00"}')).toEqual([['SEN1', 'params.velRMS.x', -0.0015, '2026-11-30T07:00:00.000Z']]);
    expect(plain(Buffer.from('\uFEFF{"value": 2}'))).toEqual([['SEN1', 'value', 2, '2026-11-30T10:00:00.000Z']]); // a UTF-8 BOM, ignored
    // Leap days of leap years, the last second of a year, a whole-hour zone far east.
    expect(plain('{"value": 1, "at": "2028-02-29T23:59:59Z"}')).toEqual([['SEN1', 'value', 1, '2028-02-29T23:59:59.000Z']]);
    expect(plain('{"value": 1, "at": "2000-02-29T00:00Z"}')).toEqual([['SEN1', 'value', 1, '2000-02-29T00:00:00.000Z']]);
    expect(plain('{"value": 1, "at": "0000-01-01T00:01:00+00:01"}')).toEqual([['SEN1', 'value', 1, '0000-01-01T00:00:00.000Z']]);
    expect(plain('{"value": 1, "at": "2026-12-31T23:59:59.999-00:30"}')).toEqual([['SEN1', 'value', 1, '2027-01-01T00:29:59.999Z']]);
    expect(plain('{"at": "2026-11-29T23:59:59.5Z", "readings": {"params.velRMS.x": 0.0012, "constructor": 7, "toString": 0}}')).toEqual([
      ['SEN1', 'params.velRMS.x', 0.0012, '2026-11-29T23:59:59.500Z'],
      ['SEN1', 'constructor', 7, '2026-11-29T23:59:59.500Z'],
      ['SEN1', 'toString', 0, '2026-11-29T23:59:59.500Z'],
    ]);
  });

  it('refuses each malformed message with its reason', () => {
    const cases: Array<[string | Buffer, string, string?]> = [
      ['{"value": 1', 'not_json'],
      ['', 'not_json'],
      // Not UTF-8 (an 0xFF byte; a lone surrogate encoded as CESU-8): refused, not read with U+FFFD.
      [Buffer.from('{"value": 1, "at\xff": 2}', 'latin1'), 'not_json'],
      [Buffer.from([...Buffer.from('{"value": 1, "metric": "a'), 0xed, 0xa0, 0x80, ...Buffer.from('"}')]), 'not_json'],
      ['null', 'shape'],
      ['13', 'shape'],
      ['[{"value": 1}]', 'shape'],
      ['{}', 'shape'],
      ['{"value": null}', 'shape'],
      ['{"value": true}', 'shape'],
      ['{"value": 1, "extra": 2}', 'shape'],
      ['{"value": 1, "readings": {"a": 1}}', 'shape'],
      ['{"metric": "a", "readings": {"a": 1}}', 'shape'],
      ['{"readings": []}', 'shape'],
      ['{"readings": {"a": "1"}}', 'shape'],
      ['{"readings": {}}', 'shape'],
      ['{"value": 1e400}', 'not_finite'],
      ['{"value": -1e400}', 'not_finite'],
      ['{"readings": {"a": 1, "b": 1e309}}', 'not_finite'],
      ['{"metric": "", "value": 1}', 'metric'],
      ['{"metric": 5, "value": 1}', 'metric'],
      ['{"metric": ".hidden", "value": 1}', 'metric'],
      ['{"readings": {"__proto__": 1}}', 'metric'],
      [`{"readings": {"${'m'.repeat(65)}": 1}}`, 'metric'],
      ['{"value": 1, "at": 1700000000}', 'at'],
      ['{"value": 1, "at": "2026-11-30"}', 'at'],
      // An offset that carries the instant out of four-digit years in UTC.
      ['{"value": 1, "at": "0000-01-01T00:00:00+00:01"}', 'at'],
      ['{"value": 1, "at": "9999-12-31T23:59:00-00:01"}', 'at'],
      ['{"value": 1, "at": "2026-11-30T10:00:00"}', 'at'],
      ['{"value": 1, "at": "2026-13-30T10:00:00Z"}', 'at'],
      // Impossible dates, which Date.parse moves on to a real one instead of refusing.
      ['{"value": 1, "at": "2026-02-29T08:00:00Z"}', 'at'],
      ['{"value": 1, "at": "2026-02-30T08:00:00Z"}', 'at'],
      ['{"value": 1, "at": "2026-11-31T08:00:00Z"}', 'at'],
      ['{"value": 1, "at": "2026-11-30T24:00:00Z"}', 'at'],
      ['{"value": 1, "at": "2026-11-30T10:60:00Z"}', 'at'],
      ['{"value": 1, "at": "2026-11-30T10:00:60Z"}', 'at'],
      ['{"value": 1, "at": "2026-11-30T10:00:00+24:00"}', 'at'],
      ['{"value": 1, "at": "2026-00-10T10:00:00Z"}', 'at'],
      ['{"value": 1, "at": "2026-11-00T10:00:00Z"}', 'at'],
      ['{"value": 1, "at": "1900-02-29T10:00:00Z"}', 'at'],
      ['{"value": 1}', 'sensor_id', 'site/-x/readings'],
      ['{"value": 1}', 'sensor_id', 'site//readings'],
      ['{"value": 1}', 'sensor_id', `site/${'s'.repeat(65)}/readings`],
      [Buffer.alloc(MAX_READING_PAYLOAD_BYTES + 1, 0x20), 'too_large'],
    ];
    expect(cases.map(([payload, , topic]) => plain(payload, topic))).toEqual(cases.map(([, reason]) => reason));
  });

  it('takes a payload of exactly the limit', () => {
    const body = '{"value": 1}';
    expect(plain(body + ' '.repeat(MAX_READING_PAYLOAD_BYTES - body.length))).toEqual([['SEN1', 'value', 1, '2026-11-30T10:00:00.000Z']]);
  });
});
