/**
 * JSON text of a value whose objects are Maps, written in the Maps' own order. A plain object
 * cannot carry keys chosen by users: a key like `__proto__` or `constructor` reaches the
 * prototype chain, and integer-like keys (`9`, `10`, `007`) are enumerated first, in numeric
 * order, whatever order they were inserted in. Other values are written by JSON.stringify.
 * `indent` pretty-prints as JSON.stringify(value, null, indent) does.
 */
export function orderedJson(value: unknown, indent = 0, depth = 0): string {
  if (!(value instanceof Map)) return JSON.stringify(value) ?? 'null';
  if (value.size === 0) return '{}';
  const inner = indent > 0 ? `\n${' '.repeat(indent * (depth + 1))}` : '';
  const outer = indent > 0 ? `\n${' '.repeat(indent * depth)}` : '';
  const separator = indent > 0 ? ': ' : ':';
  const members = [...value].map(([key, member]) => `${inner}${JSON.stringify(String(key))}${separator}${orderedJson(member, indent, depth + 1)}`);
  return `{${members.join(',')}${outer}}`;
}
