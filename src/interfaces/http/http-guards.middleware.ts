import type { Request, RequestHandler } from 'express';
import { HttpProblem } from './http-problem';

export const JSON_MEDIA_TYPES = ['application/json', 'application/*+json'];

function hasBody(req: Request): boolean {
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
}

/**
 * express.json() silently skips a body of another media type, leaving `req.body` undefined
 * (what it parses is never undefined); say so instead of answering as if no body came.
 * Mounted after the parser, so a JSON request pays for one media-type match, not two.
 */
export const requireJsonBody: RequestHandler = (req, _res, next) => {
  if (req.body !== undefined || !hasBody(req)) {
    next();
    return;
  }
  const received = req.headers['content-type'] || 'no Content-Type';
  next(
    new HttpProblem({
      type: 'about:blank',
      title: 'Unsupported Media Type',
      status: 415,
      detail: `Send the body as application/json (received ${received}).`,
    }),
  );
};

/** For a known path hit with the wrong method: 405 with `Allow`, or 204 for OPTIONS. */
export function methodNotAllowed(...allowed: string[]): RequestHandler {
  const allow = [...allowed, ...(allowed.includes('GET') ? ['HEAD'] : []), 'OPTIONS'].join(', ');
  return (req, res, next) => {
    res.set('Allow', allow);
    if (req.method === 'OPTIONS') {
      res.status(204).end();
      return;
    }
    next(
      new HttpProblem({
        type: 'about:blank',
        title: 'Method Not Allowed',
        status: 405,
        detail: `${req.method} is not supported on this route; use ${allowed.join(' or ')}.`,
      }),
    );
  };
}

export const routeNotFound: RequestHandler = (req, _res, next) => {
  next(
    new HttpProblem({
      type: 'about:blank',
      title: 'Not Found',
      status: 404,
      detail: `No route for ${req.method} ${req.path}.`,
    }),
  );
};
