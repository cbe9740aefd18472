const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** Checks that a problem+json body carries a generated request id, and returns the rest for exact comparison. */
export function withoutRequestId(body: Record<string, unknown>): Record<string, unknown> {
  const { request_id: requestId, ...problem } = body;
  expect(requestId).toMatch(UUID);
  return problem;
}
