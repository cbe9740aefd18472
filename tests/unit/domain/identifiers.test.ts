import { InvalidMetricNameError, InvalidSensorIdError } from '../../../src/domain/domain-errors';
import { MetricName } from '../../../src/domain/metric-name';
import { Sensor } from '../../../src/domain/sensor';

const VALID = ['SEN0001', 'IAJ9206', '0', 'a.b-c_d', 'x'.repeat(64), 'params.velRMS.x'];
const INVALID = ['', 'x'.repeat(65), '.hidden', '-x', '_x', 'a b', 'a/b', '..', 'sensör', 'a\nb', 'a%2Fb'];

describe('Sensor.withId', () => {
  it.each(VALID)('accepts %j', (id) => {
    expect(Sensor.withId(id).id).toBe(id);
  });

  it.each(INVALID)('refuses %j', (id) => {
    expect(() => Sensor.withId(id)).toThrow(InvalidSensorIdError);
  });
});

describe('MetricName.of', () => {
  it('defaults to `value`', () => {
    expect(MetricName.DEFAULT.name).toBe('value');
  });

  it.each(VALID)('accepts %j', (name) => {
    expect(MetricName.of(name).name).toBe(name);
  });

  it.each(INVALID)('refuses %j', (name) => {
    expect(() => MetricName.of(name)).toThrow(InvalidMetricNameError);
  });
});
