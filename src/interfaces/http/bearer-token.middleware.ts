import type { RequestHandler } from 'express';
import { createHash, timingSafeEqual } from 'node:crypto';
import { HttpProblem } from './http-problem';

const digest = (text: string) => createHash('sha256').update(text).digest();

/**
 * Requires `Authorization: Bearer <token>` (two such headers are refused before, by
 * rejectAmbiguousHeaders). Compares SHA-256 digests in constant time, so
 * neither the token's content nor its length leaks through timing.
 */
export function requireBearerToken(token: string): RequestHandler {
  const expected = digest(token);
  return (req, res, next) => {
    const header = req.headers.authorization ?? '';
    // RFC 9110 §11.4: the scheme and the token are separated by one or more spaces.
    const presented = /^Bearer +(\S+)$/i.exec(header)?.[1];
    if (presented !== undefined && timingSafeEqual(digest(presented), expected)) {
      next();
      return;
    }
    res.set('WWW-Authenticate', 'Bearer realm="sensor-alerts"');
    next(
      new HttpProblem({
        type: 'about:blank',
        title: 'Unauthorized',
        status: 401,
        detail: presented === undefined ? 'Send Authorization: Bearer <API_TOKEN>.' : 'The bearer token is not valid.',
      }),
    );
  };
}
