import { describePostgresError, isConnectionLost, lostAfterSending } from '../../src/infrastructure/postgres/postgres-errors';

// What a client reads in a 503's detail: the condition in the service's terms and its code,
// never the server's own words when they quote SQL, nor its address.
const pgError = (code: string, message: string) => Object.assign(new Error(message), { code });

describe('describePostgresError', () => {
  it.each([
    [pgError('25006', 'cannot execute DELETE in a read-only transaction'), 'the database is read-only (a standby, or default_transaction_read_only) (25006)'],
    [pgError('55P03', 'canceling statement due to lock timeout'), 'another write held the model past DB_BUSY_TIMEOUT_MS (lock timeout) (55P03)'],
    [pgError('57014', 'canceling statement due to statement timeout'), 'the statement ran past REQUEST_TIMEOUT_MS and the server cancelled it (57014)'],
    [pgError('53300', 'sorry, too many clients already'), 'the database server is out of a resource (connections, memory or disk) (53300)'],
    [pgError('57P01', 'terminating connection due to administrator command'), 'the database server ended the session (shutting down, restarting or starting up, or by an administrator) (57P01)'],
    [pgError('42501', 'permission denied for table idempotency_keys'), 'the database role lacks a right this needs (README, "Storage: SQLite or PostgreSQL": the rights a role needs) (42501)'],
    [new Error('Client has encountered a connection error and is not queryable'), 'the connection to the database was lost'],
    [new Error('Cannot use a pool after calling end on the pool'), 'the database connections are closing (the service is stopping)'],
    [pgError('40P01', 'deadlock detected'), 'a concurrent write conflicted with this one (40P01)'],
    [pgError('ECONNREFUSED', 'connect ECONNREFUSED 10.0.0.7:5432'), 'the database server cannot be reached (ECONNREFUSED)'],
    [new Error('Query read timeout'), 'no answer from the database within REQUEST_TIMEOUT_MS and 1 s'],
    [new Error('Connection terminated unexpectedly'), 'the connection to the database was lost'],
    [new Error('Connection terminated due to connection timeout'), 'no connection to the database in time'],
    [new Error('timeout exceeded when trying to connect'), 'no connection to the database in time'],
  ])('%s', (error, description) => {
    expect(isConnectionLost(error)).toBe(true);
    expect(describePostgresError(error)).toBe(description);
  });

  it('tells a connection that timed out before anything was sent from one lost after a statement was', () => {
    expect(lostAfterSending(new Error('Connection terminated due to connection timeout'))).toBe(false);
    expect(lostAfterSending(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(lostAfterSending(new Error('Query read timeout'))).toBe(true);
    expect(lostAfterSending(pgError('ECONNRESET', 'read ECONNRESET'))).toBe(true);
    expect(lostAfterSending(pgError('ECONNREFUSED', 'connect ECONNREFUSED 10.0.0.7:5432'))).toBe(false);
  });

  it('keeps the words of a condition it does not know, with the code', () => {
    expect(describePostgresError(pgError('XX000', 'internal error'))).toBe('internal error (XX000)');
  });
});
