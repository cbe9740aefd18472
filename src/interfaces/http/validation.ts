import type { z } from 'zod';
import { quotedPrefix } from '../../domain/quoted-prefix';
import { HttpProblem, problemType, type FieldError } from './http-problem';

type Issue = z.ZodError['issues'][number];

// A million bad array items would make a million-line answer; the first few say enough.
const MAX_REPORTED_ERRORS = 20;

/** Validates a parsed JSON body: 422 naming each bad field as a JSON Pointer. */
export function parseBody<T extends z.ZodType>(schema: T, body: unknown): z.output<T> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const errors = result.error.issues.flatMap((issue): FieldError[] =>
    // Point at each unexpected key itself rather than at the object holding it.
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({ pointer: jsonPointer([...issue.path, key]), detail: 'Unexpected field' }))
      : [{ pointer: jsonPointer(issue.path), detail: issue.message }],
  );
  throw invalidBody(errors);
}

/** The 422 for bad body fields, also for rules checked after the schema (e.g. ids in a batch). */
export function invalidBody(errors: readonly FieldError[]): HttpProblem {
  return invalid(422, 'validation-error', 'Request body is invalid', errors);
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
      misused.push({ parameter, detail: `Unknown query parameter; ${offered}` });
    } else if (typeof value !== 'string') misused.push({ parameter, detail: 'Given more than once; give it once' });
    else if (value === '') misused.push({ parameter, detail: 'Empty; give a value, or leave the parameter out' });
  }
  if (misused.length > 0) throw invalid(400, 'invalid-parameter', 'Query parameter is invalid', misused);
  const result = schema.safeParse(query);
  if (result.success) return result.data;
  const errors = result.error.issues.map((issue: Issue) => ({ parameter: shortKey(String(issue.path[0])), detail: issue.message }));
  throw invalid(400, 'invalid-parameter', 'Query parameter is invalid', errors);
}

/** RFC 6901 pointer in URI-fragment form, as RFC 9457's examples use: `#/values/3`. */
function jsonPointer(path: readonly PropertyKey[]): string {
  return `#${path.map((key) => `/${shortKey(String(key)).replaceAll('~', '~0').replaceAll('/', '~1')}`).join('')}`;
}

// An unexpected key may be megabytes long: name it by a prefix, as values are.
function shortKey(key: string): string {
  return key.length <= 80 ? key : quotedPrefix(key);
}

function invalid(status: number, slug: string, title: string, errors: readonly FieldError[]): HttpProblem {
  const reported = errors.slice(0, MAX_REPORTED_ERRORS);
  const listed = reported.map((error) => `${error.pointer ?? error.parameter}: ${error.detail}`).join('; ');
  return new HttpProblem({
    type: problemType(slug),
    title,
    status,
    detail: errors.length > reported.length ? `${errors.length} problems; the first ${reported.length}: ${listed}` : listed,
    errors: reported,
  });
}
