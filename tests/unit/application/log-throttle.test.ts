import { LogThrottle } from '../../../src/application/log-throttle';

describe('LogThrottle', () => {
  it('lets the first event through, holds back the others for the interval, then says how many it held', () => {
    let now = 1000;
    const throttle = new LogThrottle(10_000, () => now);
    expect(throttle.pass()).toBe(0);
    now += 1;
    expect(throttle.pass()).toBeUndefined();
    now += 9_998; // 9,999 ms after the line
    expect(throttle.pass()).toBeUndefined();
    now += 1;
    expect(throttle.pass()).toBe(2);
    expect(throttle.pass()).toBeUndefined();
    now += 60_000;
    expect(throttle.pass()).toBe(1);
  });
});
