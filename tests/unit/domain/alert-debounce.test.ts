import { AlertDebounce, type AlertState } from '../../../src/domain/alert-debounce';

const at = (second: number) => new Date(Date.UTC(2026, 10, 30, 0, 0, second));

/** Feeds verdicts (1 = at or above the threshold) one by one; answers the transitions, '.' for none. */
function run(debounce: AlertDebounce, verdicts: string, start: AlertState = AlertDebounce.INITIAL): { transitions: string; state: AlertState } {
  let state = start;
  let transitions = '';
  [...verdicts].forEach((verdict, index) => {
    const step = debounce.next(state, verdict === '1', at(index));
    state = step.state;
    transitions += step.transition === 'raised' ? 'R' : step.transition === 'cleared' ? 'C' : '.';
  });
  return { transitions, state };
}

describe('AlertDebounce', () => {
  it('with the defaults, every reading decides alone: the case rule', () => {
    expect(run(new AlertDebounce(), '0110100').transitions).toBe('.R.CRC.');
  });

  it('raises only after raiseAfter consecutive readings at or above the threshold', () => {
    expect(run(new AlertDebounce(3, 1), '11011101110').transitions).toBe('.....RC..RC');
  });

  it('clears only after clearAfter consecutive readings below it', () => {
    expect(run(new AlertDebounce(1, 2), '1010011').transitions).toBe('R...CR.');
  });

  it('a reading that agrees with the state resets the count against it', () => {
    const debounce = new AlertDebounce(2, 2);
    expect(run(debounce, '1010101').transitions).toBe('.......');
    expect(run(debounce, '11010100').transitions).toBe('.R.....C');
  });

  it('keeps the time of the last transition in since, and counts pending readings', () => {
    const { state } = run(new AlertDebounce(2, 3), '11' + '00');
    expect(state).toEqual({ status: 'raised', pending: 2, since: at(1) });
  });

  it('returns the same state object when nothing changes (no write needed)', () => {
    const debounce = new AlertDebounce(2, 2);
    expect(debounce.next(AlertDebounce.INITIAL, false, at(0)).state).toBe(AlertDebounce.INITIAL);
  });

  it.each([0, -1, 1.5, Number.NaN, Infinity])('refuses %p as a count', (count) => {
    expect(() => new AlertDebounce(count, 1)).toThrow(RangeError);
    expect(() => new AlertDebounce(1, count)).toThrow(RangeError);
  });
});
