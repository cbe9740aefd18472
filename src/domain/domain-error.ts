/** Base of every rule the domain refuses; the HTTP edge maps each subclass to a status. */
export abstract class DomainError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}
