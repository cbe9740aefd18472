/**
 * The one rule for a number typed as text, shared by the HTTP query (`?value=`) and the
 * command line (`--value`): decimal as JSON writes numbers (0.09, -3, 1.5e-3), so the API and
 * the CLIs accept and refuse the same strings. Number() alone would also take 0x10, 0b11, '',
 * ' 5' and Infinity.
 */
// JSON's number grammar (RFC 8259 §6): no leading zeros (00.5, 007), no bare dot, no plus sign.
export const DECIMAL_NUMBER_PATTERN = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;

/** Decimal digits only: a count such as `?limit=` or `--threads`. */
export const WHOLE_NUMBER_PATTERN = /^\d+$/;

/** The finite number `text` writes under DECIMAL_NUMBER_PATTERN, else undefined (1e999 is not finite). */
export function parseDecimalNumber(text: string): number | undefined {
  if (!DECIMAL_NUMBER_PATTERN.test(text)) return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
}
