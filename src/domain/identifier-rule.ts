// Sensor ids and metric names share one rule: safe in a URL path segment, a CSV header and a log line.
export const IDENTIFIER_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$';
const IDENTIFIER = new RegExp(IDENTIFIER_PATTERN);

export function isValidIdentifier(candidate: string): boolean {
  return IDENTIFIER.test(candidate);
}
