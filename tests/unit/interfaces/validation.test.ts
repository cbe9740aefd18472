import { z } from 'zod';
import { HttpProblem, type ProblemDetails } from '../../../src/interfaces/http/http-problem';
import { parseBody } from '../../../src/interfaces/http/validation';

function problemOf(run: () => unknown): ProblemDetails {
  try {
    run();
  } catch (error) {
    if (error instanceof HttpProblem) return error.problem;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('parseBody with an array field checked by hand', () => {
  // zod builds an issue per bad item: it must only see the few items the answer words.
  it('asks the schema about at most 10 of 100,000 bad items, and counts them all', () => {
    let consulted = 0;
    const item = z.preprocess((value) => {
      consulted++;
      return value;
    }, z.number());
    const schema = z.strictObject({ values: z.array(item) });
    const body = { values: Array.from({ length: 100_000 }, () => 'a') };
    const problem = problemOf(() => parseBody(schema, body, { name: 'values', item, isItem: (value) => typeof value === 'number' }));
    expect(consulted).toBe(10);
    expect(problem.status).toBe(422);
    expect(problem.errors).toHaveLength(10);
    expect(problem.errors?.[9]).toEqual({ pointer: '#/values/9', detail: 'Invalid input: expected number, received string' });
    expect(problem.detail).toMatch(/^100000 invalid items in #\/values; the first 10 problems: #\/values\/0: Invalid input: expected number, received string; /);
  });

  it('still names the other faults of the body, and keys unexpected inside an item', () => {
    const item = z.strictObject({ id: z.string() });
    const schema = z.strictObject({ items: z.array(item).min(1) });
    const problem = problemOf(() => parseBody(schema, { items: [{ id: 'a' }, { id: 'b', x: 1 }], extra: true }, { name: 'items', item, isItem: () => false }));
    expect(problem.errors).toEqual([
      { pointer: '#/extra', detail: 'Unexpected field' },
      { pointer: '#/items/1/x', detail: 'Unexpected field' },
    ]);
    expect(problem.detail).toBe('#/extra: Unexpected field; #/items/1/x: Unexpected field');
  });

  it('lets the schema decide when every item passes the hand check', () => {
    const item = z.number();
    const schema = z.strictObject({ values: z.array(item).max(2) });
    expect(parseBody(schema, { values: [1, 2] }, { name: 'values', item, isItem: (value) => typeof value === 'number' })).toEqual({ values: [1, 2] });
    expect(problemOf(() => parseBody(schema, { values: [1, 2, 3] }, { name: 'values', item, isItem: (value) => typeof value === 'number' })).errors).toEqual([
      { pointer: '#/values', detail: 'Too big: expected array to have <=2 items' },
    ]);
  });
});
