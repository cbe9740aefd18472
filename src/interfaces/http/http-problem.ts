/** One bad field: `pointer` (JSON Pointer into the body) or `parameter` (path or query). */
export interface FieldError {
  readonly pointer?: string;
  readonly parameter?: string;
  readonly detail: string;
}

/** RFC 9457 problem details, as sent with `application/problem+json`. */
export interface ProblemDetails {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly errors?: readonly FieldError[];
}

/** Problem types we define; plain HTTP failures use `about:blank` with the status phrase as title. */
export const problemType = (slug: string): string => `urn:sensor-alerts:problem:${slug}`;

/**
 * An error the HTTP edge raises itself, already shaped as the answer to send. An answer given
 * on purpose is logged as a completed request; `failure` marks a 5xx that reports trouble
 * (a probe finding the database unusable), logged as a failed request.
 */
export class HttpProblem extends Error {
  constructor(
    readonly problem: ProblemDetails,
    readonly failure = false,
  ) {
    super(problem.detail);
  }
}
