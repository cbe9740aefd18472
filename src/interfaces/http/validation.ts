import type { z } from 'zod';
import { quotedPrefix } from '../../domain/quoted-prefix';
import { HttpProblem, problemType, type FieldError } from './http-problem';

type Issue = z.ZodError['issues'][number];

// A million bad array items would make a million-line answer; the first few say enough.
export const MAX_REPORTED_ERRORS = 20;
// Of an array's bad items, how many are worded (by the schema); the rest are only counted.
const MAX_WORDED_ITEMS = 10;

/**
 * The array field of a body, checked by hand before the schema sees it. zod checks every
 * item and builds an issue (with its path) for each bad one: 4M bad items took 53 s and
 * 2.8 GB. `isItem` must say yes exactly to the items `item` accepts unchanged.
 */
export interface ArrayField {
  readonly name: string;
  readonly item: z.ZodType;
  readonly isItem: (item: unknown) => boolean;
}

/** Validates a parsed JSON body: 422 naming each bad field as a JSON Pointer. */
export function parseBody<T extends z.ZodType>(schema: T, body: unknown, arrayField?: ArrayField): z.output<T> {
  const items = arrayField && isRecord(body) ? body[arrayField.name] : undefined;
  if (arrayField && Array.isArray(items)) {
    const bad = badItems(items, arrayField);
    if (bad.count > 0) {
      // The rest of the body is still checked, the array left out, so one answer names every kind of fault.
      const rest = schema.safeParse({ ...(body as Record<string, unknown>), [arrayField.name]: [] });
      const others = rest.success ? [] : fieldErrors(rest.error.issues.filter((issue) => issue.path[0] !== arrayField.name));
      throw invalid(422, 'validation-error', 'Request body is invalid', [...others, ...bad.errors], {
        count: bad.count,
        pointer: jsonPointer([arrayField.name]),
        others: others.length,
      });
    }
  }
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  // No body at all (none sent, no Content-Type): say so, rather than "expected object, received undefined".
  if (body === undefined) throw invalidBody([{ pointer: '#', detail: 'The request has no body: send a JSON object' }]);
  throw invalidBody(fieldErrors(result.error.issues));
}

/** One pass with the cheap check; only the first few bad items are worded by the schema. */
function badItems(items: readonly unknown[], field: ArrayField): { count: number; errors: FieldError[] } {
  const errors: FieldError[] = [];
  let count = 0;
  for (let index = 0; index < items.length; index++) {
    if (field.isItem(items[index])) continue;
    if (++count > MAX_WORDED_ITEMS) continue;
    const result = field.item.safeParse(items[index]);
    if (!result.success) errors.push(...fieldErrors(result.error.issues, [field.name, index]));
  }
  return { count, errors };
}

function fieldErrors(issues: readonly Issue[], prefix: readonly PropertyKey[] = []): FieldError[] {
  return issues.flatMap((issue): FieldError[] =>
    // Point at each unexpected key itself rather than at the object holding it.
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({ pointer: jsonPointer([...prefix, ...issue.path, key]), detail: 'Unexpected field' }))
      : [{ pointer: jsonPointer([...prefix, ...issue.path]), detail: plainMessage(issue) }],
  );
}

/** zod's words, where they read as code: JSON has no undefined, so "received undefined" is a missing field. */
function plainMessage(issue: Issue): string {
  if (issue.code !== 'invalid_type') return issue.message;
  if (issue.message.endsWith('received undefined')) return `Required: expected ${issue.expected}`;
  if (issue.expected === 'int') return 'Expected a whole number';
  return issue.message;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The 422 for bad body fields, also for rules checked after the schema (e.g. ids in a batch).
 * `total`: how many there were, when the caller kept only the first few.
 */
export function invalidBody(errors: readonly FieldError[], total = errors.length): HttpProblem {
  return invalid(422, 'validation-error', 'Request body is invalid', errors, undefined, total);
}

/**
 * Validates the query string: 400 naming each bad parameter. As strict as a body: a parameter
 * the route does not take, one given twice, or one left empty is refused, not ignored or guessed at.
 */
export function parseQuery<T extends z.ZodObject>(schema: T, query: Record<string, unknown>): z.output<T> {
  const taken = Object.keys(schema.shape);
  const misused: FieldError[] = [];
  for (const [parameter, value] of Object.entries(query)) {
    if (!taken.includes(parameter)) {
      const offered = taken.length === 0 ? 'this route takes no query parameters' : `this route takes ${taken.map((name) => `?${name}=`).join(', ')}`;
      misused.push({ parameter: shortKey(parameter), detail: `Unknown query parameter; ${offered}` });
    } else if (typeof value !== 'string') misused.push({ parameter, detail: 'Given more than once; give it once' });
    else if (value === '') misused.push({ parameter, detail: 'Empty; give a value, or leave the parameter out' });
  }
  if (misused.length > 0) throw invalid(400, 'invalid-parameter', 'Query parameter is invalid', misused);
  const result = schema.safeParse(query);
  if (result.success) return result.data;
  // Each parameter is one string here (repeated and empty ones were refused above): quoted as sent.
  const errors = result.error.issues.map((issue: Issue) => {
    const parameter = String(issue.path[0]);
    const given = query[parameter];
    return { parameter: shortKey(parameter), detail: typeof given === 'string' ? `${issue.message} (got ${quotedPrefix(given)})` : issue.message };
  });
  throw invalid(400, 'invalid-parameter', 'Query parameter is invalid', errors);
}

/** RFC 6901 pointer in URI-fragment form, as RFC 9457's examples use: `#/values/3`. */
function jsonPointer(path: readonly PropertyKey[]): string {
  return `#${path.map((key) => `/${shortKey(String(key)).replaceAll('~', '~0').replaceAll('/', '~1')}`).join('')}`;
}

// An unexpected key may be megabytes long, a query parameter's name kilobytes: name it by a
// prefix, as values are.
function shortKey(key: string): string {
  return key.length <= 80 ? key : quotedPrefix(key);
}

/** `items`: the bad items of an array field, of which only the first few are in `errors` (after `others`). */
function invalid(
  status: number,
  slug: string,
  title: string,
  errors: readonly FieldError[],
  items?: { count: number; pointer: string; others: number },
  total = errors.length,
): HttpProblem {
  const reported = errors.slice(0, MAX_REPORTED_ERRORS);
  const listed = reported.map((error) => `${error.pointer ?? error.parameter}: ${error.detail}`).join('; ');
  let detail = total > reported.length ? `${total} problems; the first ${reported.length}: ${listed}` : listed;
  if (items && items.count > MAX_WORDED_ITEMS) {
    const others = items.others === 0 ? '' : ` and ${items.others} other problems`;
    detail = `${items.count} invalid items in ${items.pointer}${others}; the first ${reported.length} problems: ${listed}`;
  }
  return new HttpProblem({ type: problemType(slug), title, status, detail, errors: reported });
}
