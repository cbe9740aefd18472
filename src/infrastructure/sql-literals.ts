/**
 * Constant words (the code's own, never user input) as a list of SQL string literals, for an
 * `IN (...)` written into a statement: `'fit', 'rollback'`. Both SQLite and PostgreSQL read it.
 */
export function sqlList(words: readonly string[]): string {
  return words.map((word) => `'${word.replaceAll("'", "''")}'`).join(', ');
}
