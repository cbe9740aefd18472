const SHOWN_CHARACTERS = 80;

/**
 * A value for a message: JSON-quoted (so control characters and quotes are escaped), cut to
 * its first 80 characters with its length said. A refused value is never echoed in full: a
 * megabyte id must not make a megabyte answer, or a megabyte log line.
 */
export function quotedPrefix(value: string): string {
  if (value.length <= SHOWN_CHARACTERS) return JSON.stringify(value);
  return `${JSON.stringify(value.slice(0, SHOWN_CHARACTERS))}… (${value.length} characters)`;
}
