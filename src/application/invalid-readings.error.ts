/** A readings file the trainer cannot learn from; says where, so the user can fix that spot. */
export class InvalidReadingsError extends Error {
  constructor(
    readonly source: string,
    readonly reason: string,
    readonly line?: number,
    readonly column?: string,
  ) {
    super(`${source}${line === undefined ? '' : `:${line}`}: ${column === undefined ? '' : `column ${JSON.stringify(column)}: `}${reason}`);
    this.name = 'InvalidReadingsError';
  }
}
