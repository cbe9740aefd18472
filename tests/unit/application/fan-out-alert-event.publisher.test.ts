import { FanOutAlertEventPublisher } from '../../../src/application/fan-out-alert-event.publisher';
import type { AlertEventPublisher } from '../../../src/application/ports/alert-event.publisher';
import type { Logger } from '../../../src/application/ports/logger';
import type { AlertEvent } from '../../../src/domain/alert-event';

const event = (sensorId: string): AlertEvent => ({
  sensorId, metric: 'value', state: 'raised', value: 15, threshold: 14, mean: 10, std: 2, zScore: 2.5, at: new Date(Date.UTC(2026, 10, 30)),
});

class RecordingPublisher implements AlertEventPublisher {
  readonly events: AlertEvent[] = [];
  publish(event: AlertEvent): void {
    this.events.push(event);
  }
}

const throwing: AlertEventPublisher = {
  publish() {
    throw new Error('sink bug');
  },
};

function recordingLogger() {
  const errors: Array<[string, Record<string, unknown> | undefined]> = [];
  const ignore = () => undefined;
  const logger: Logger = { debug: ignore, info: ignore, warn: ignore, error: (message, fields) => void errors.push([message, fields]), fatal: ignore, lifecycle: ignore };
  return { logger, errors };
}

describe('FanOutAlertEventPublisher', () => {
  afterEach(() => jest.useRealTimers());

  it('hands each event to every sink, in order', () => {
    const [first, second] = [new RecordingPublisher(), new RecordingPublisher()];
    const fanOut = new FanOutAlertEventPublisher([{ name: 'mqtt', publisher: first }, { name: 'webhook', publisher: second }], recordingLogger().logger);
    fanOut.publish(event('A'));
    fanOut.publish(event('B'));
    expect(first.events.map((e) => e.sensorId)).toEqual(['A', 'B']);
    expect(second.events).toEqual(first.events);
  });

  it('does nothing, and does not fail, with no sink configured', () => {
    expect(() => new FanOutAlertEventPublisher([], recordingLogger().logger).publish(event('A'))).not.toThrow();
  });

  it('keeps serving the other sinks when one throws, never throws itself, and logs the fault at most once a minute per sink', () => {
    jest.useFakeTimers({ now: Date.UTC(2026, 10, 30) });
    const after = new RecordingPublisher();
    const { logger, errors } = recordingLogger();
    const fanOut = new FanOutAlertEventPublisher([{ name: 'mqtt', publisher: throwing }, { name: 'webhook', publisher: after }], logger);
    for (const sensor of ['A', 'B', 'C']) expect(() => fanOut.publish(event(sensor))).not.toThrow();
    expect(after.events.map((e) => e.sensorId)).toEqual(['A', 'B', 'C']);
    expect(errors).toEqual([['alert event sink threw; the other sinks still got the event', { sink: 'mqtt', error: 'sink bug', faultsSinceLastLog: 1 }]]);
    jest.advanceTimersByTime(59_999);
    fanOut.publish(event('D'));
    expect(errors).toHaveLength(1);
    jest.advanceTimersByTime(1);
    fanOut.publish(event('E'));
    expect(errors).toHaveLength(2);
    expect(errors[1]![1]).toEqual({ sink: 'mqtt', error: 'sink bug', faultsSinceLastLog: 4 });
  });
});
