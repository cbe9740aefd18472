import express, { type Request, type RequestHandler } from 'express';
import { isUtf8 } from 'node:buffer';
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { quotedPrefix } from '../../domain/quoted-prefix';
import { HttpProblem } from './http-problem';

export const JSON_MEDIA_TYPES = ['application/json', 'application/*+json'];

/** The error type body-parser's verify step reports a body that is not UTF-8 with (body-parser makes it a 403; the error handler answers 400). */
export const INVALID_UTF8 = 'entity.invalid-utf8';

/**
 * Set by the HTTP server (http-server.ts) on a request sent with `Expect: 100-continue`,
 * which Node then leaves to us: "100 Continue" goes out only when the route reads the body
 * (readJsonBody), so a request refused before that (401, 413, 415) never sends it.
 */
export const AWAITS_CONTINUE = Symbol('awaitsContinue');

/** Whether the app set `Connection: close` on this answer (a request whose body it will not read): nothing after it on the connection is answered. */
export function saysConnectionClose(response: ServerResponse): boolean {
  return String(response.getHeader('connection') ?? '').toLowerCase() === 'close';
}

function refuseInvalidUtf8(_req: unknown, _res: unknown, body: Buffer): void {
  if (!isUtf8(body)) throw Object.assign(new Error('the body is not valid UTF-8'), { type: INVALID_UTF8 });
}

/** Whether the request announces a body (which may still be unread). */
export function hasBody(req: Request): boolean {
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
}

/**
 * express.json() silently skips a body of another media type, leaving `req.body` undefined
 * (what it parses is never undefined); say so instead of answering as if no body came.
 * Mounted after the parser, so a JSON request pays for one media-type match, not two.
 * A chunked body may yet turn out empty, as `Content-Length: 0` is: it is read until its
 * first byte (refused) or its end (no body, accepted). Not one awaiting 100-continue: its
 * client sends nothing before we invite it.
 */
export const requireJsonBody: RequestHandler = (req, _res, next) => {
  if (req.body !== undefined || !hasBody(req)) {
    next();
    return;
  }
  const type = req.headers['content-type'];
  const received = type ? quotedPrefix(type) : 'no Content-Type';
  const refuse = () =>
    next(
      new HttpProblem({
        type: 'about:blank',
        title: 'Unsupported Media Type',
        status: 415,
        detail: `Send the body as application/json (received ${received}).`,
      }),
    );
  if (req.headers['content-length'] !== undefined || (req as Request & { [AWAITS_CONTINUE]?: boolean })[AWAITS_CONTINUE]) {
    refuse();
    return;
  }
  // 'close' without 'end': the client went away mid-body; the refusal is logged, sent to no one.
  const settle = (outcome: () => void) => {
    req.off('data', onData).off('end', onEnd).off('close', onData);
    outcome();
  };
  const onData = () => settle(refuse);
  const onEnd = () => settle(next);
  req.on('data', onData).on('end', onEnd).on('close', onData);
};

/**
 * The JSON body parser of one route, limited to `limit` bytes (named by `variable` in the
 * 413), then requireJsonBody. A body over the limit is refused as soon as that is known,
 * from Content-Length or while a chunked body arrives: body-parser would first read the
 * rest to its end (500 MB, if so announced) before reporting it.
 */
export function readJsonBody(limit: number, variable: string): RequestHandler[] {
  // inflate: false: a compressed body is refused (415), not inflated. Compression is not part
  // of the API, a 16 KB gzip body inflates to megabytes the limits cannot count before
  // reading them, and a 413 would then quote sizes the client never sent.
  // strict: false parses any JSON value, so `10` or `null` is refused by the schema (422, valid
  // JSON of the wrong shape) rather than by the parser as if it were not JSON (400).
  // verify: JSON is UTF-8 (RFC 8259), and bytes that are not would otherwise be decoded as
  // U+FFFD, silently changing a name or a string. Refused as malformed (see INVALID_UTF8).
  const parse = express.json({ limit, type: JSON_MEDIA_TYPES, strict: false, inflate: false, verify: refuseInvalidUtf8 });
  const tooLarge = (length: number | undefined) =>
    new HttpProblem({
      type: 'about:blank',
      title: 'Content Too Large',
      status: 413,
      detail: `The request body ${length === undefined ? '' : `(${length} bytes) `}is larger than this route's ${limit}-byte limit (${variable}).`,
    });
  const parseWithinLimit: RequestHandler = (req, res, next) => {
    const unsupported = hasBody(req) ? unsupportedEncoding(req) : undefined;
    if (unsupported) {
      next(unsupported);
      return;
    }
    let settled = false;
    const settle = (error?: unknown) => {
      if (settled) return;
      settled = true;
      next(error);
    };
    const announced = req.headers['content-length'] === undefined ? undefined : Number(req.headers['content-length']);
    if (announced !== undefined && announced > limit) {
      settle(tooLarge(announced));
      return;
    }
    if (announced === undefined && req.headers['transfer-encoding'] !== undefined) {
      let received = 0;
      const count = (chunk: Buffer) => {
        received += chunk.length;
        if (received <= limit) return;
        req.off('data', count);
        settle(tooLarge(undefined));
      };
      req.on('data', count);
    }
    const flagged = req as Request & { [AWAITS_CONTINUE]?: boolean };
    if (flagged[AWAITS_CONTINUE] && req.is(JSON_MEDIA_TYPES)) {
      flagged[AWAITS_CONTINUE] = false;
      res.writeContinue();
    }
    parse(req, res, (error?: unknown) => settle((error as { type?: unknown } | undefined)?.type === 'entity.too.large' ? tooLarge(announced) : error));
  };
  return [parseWithinLimit, requireJsonBody];
}

// `charset=utf-8` (any case, quoted or not) or none: JSON is UTF-8 (RFC 8259 §8.1). Every
// charset parameter given is held to it: with two, which one a reader takes is anyone's guess.
const CHARSET = /;\s*charset\s*=\s*"?([^";\s]*)"?/gi;

/**
 * A 415 for a body we will not decode: compressed (Content-Encoding other than identity), or
 * in a charset other than UTF-8 (body-parser would decode UTF-16 and then report its own
 * garbled reading as malformed JSON).
 */
function unsupportedEncoding(req: Request): HttpProblem | undefined {
  const encoding = req.headers['content-encoding'];
  let detail: string | undefined;
  if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
    detail = `Send the body uncompressed: Content-Encoding ${quotedPrefix(encoding)} is not accepted.`;
  } else if (req.is(JSON_MEDIA_TYPES)) {
    const charset = [...(req.headers['content-type'] ?? '').matchAll(CHARSET)].map((match) => match[1]!).find((name) => name.toLowerCase() !== 'utf-8');
    if (charset !== undefined) detail = `Send the body as UTF-8 JSON (received charset ${quotedPrefix(charset)}).`;
  }
  return detail === undefined ? undefined : new HttpProblem({ type: 'about:blank', title: 'Unsupported Media Type', status: 415, detail });
}

/**
 * On every answer: browsers must take our Content-Type as sent, never sniff a JSON answer
 * (which may quote a client's input) into HTML or script.
 */
export const noSniffing: RequestHandler = (_req, res, next) => {
  res.setHeader('X-Content-Type-Options', 'nosniff');
  next();
};

// RFC 3986 host (IP literal, or reg-name, which includes IPv4) and optional port (held to 65535 by isHostAndPort).
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]*)(?::(\d{0,5}))?$/;

/** Header fields a request may have: clients send a few dozen at most. */
const MAX_HEADER_FIELDS = 100;

/**
 * Refuses requests whose meaning is ambiguous: more header fields than MAX_HEADER_FIELDS (431), RFC 9112 §3.2 requires a 400 for no Host
 * (HTTP/1.1), more than one Host or an invalid one (Node keeps the first and answers), and of
 * two Authorization headers Node silently keeps the first. An Expect we cannot meet is a 417
 * (RFC 9110 §10.1.1).
 */
export const rejectAmbiguousHeaders: RequestHandler = (req, _res, next) => {
  // Node keeps a request's first maxHeadersCount fields (2,000 by default) and drops the rest
  // unseen, an Idempotency-Key among them: far fewer are allowed, so none is ever dropped.
  if (req.rawHeaders.length / 2 > MAX_HEADER_FIELDS) {
    next(new HttpProblem({ type: 'about:blank', title: 'Request Header Fields Too Large', status: 431, detail: `The request has more than ${MAX_HEADER_FIELDS} header fields.` }));
    return;
  }
  let hosts = 0;
  let authorizations = 0;
  const raw = req.rawHeaders;
  for (let index = 0; index < raw.length; index += 2) {
    const name = raw[index]!;
    if (name.length === 4 && name.toLowerCase() === 'host') hosts++;
    else if (name.length === 13 && name.toLowerCase() === 'authorization') authorizations++;
  }
  const host = req.headers.host;
  let detail: string | undefined;
  // RFC 9112 §3.2: an HTTP/1.1 request without Host is a 400 (HTTP/1.0 may omit it).
  if (hosts === 0 && req.httpVersion === '1.1') detail = 'Send a Host header: HTTP/1.1 requires one.';
  else if (hosts > 1) detail = 'Send one Host header.';
  else if (host !== undefined && !isHostAndPort(host)) detail = `The Host header ${quotedPrefix(host)} is not a valid host and port.`;
  else if (authorizations > 1) detail = 'Send one Authorization header.';
  else detail = invalidAbsoluteTarget(req.url);
  if (detail) {
    next(new HttpProblem({ type: 'about:blank', title: 'Bad Request', status: 400, detail }));
    return;
  }
  // RFC 9112 §6.1 and §6.3: Transfer-Encoding in HTTP/1.0, or one whose last coding is not
  // chunked, leaves the body's length unknown (400); codings before chunked are ones we do not
  // decode (501): Node would frame the body as chunked and hand over gzip (say) undecoded.
  // Either way the body is never read, so the answer closes the connection (error-handler).
  const transferEncoding = req.headers['transfer-encoding'];
  if (transferEncoding !== undefined) {
    const codings = transferEncoding.split(',').map((coding) => coding.trim().toLowerCase());
    if (req.httpVersion === '1.0' || codings.at(-1) !== 'chunked') {
      const detail = req.httpVersion === '1.0' ? 'Transfer-Encoding is not part of HTTP/1.0: send Content-Length.' : `Transfer-Encoding ${quotedPrefix(transferEncoding)} does not end in chunked: the body's length cannot be known.`;
      next(new HttpProblem({ type: 'about:blank', title: 'Bad Request', status: 400, detail }));
      return;
    }
    if (codings.length > 1) {
      next(new HttpProblem({ type: 'about:blank', title: 'Not Implemented', status: 501, detail: `Transfer-Encoding ${quotedPrefix(transferEncoding)} is not supported; only chunked is.` }));
      return;
    }
  }
  // Node passes on only expectations it does not know (it answers 100-continue itself).
  const expect = req.headers.expect;
  if (expect !== undefined && expect.toLowerCase() !== '100-continue') {
    next(new HttpProblem({ type: 'about:blank', title: 'Expectation Failed', status: 417, detail: `Expect ${quotedPrefix(expect)} is not supported; only 100-continue is.` }));
    return;
  }
  next();
};

/**
 * Requests pipelined on one connection are handled one after another, in the order sent.
 * Node hands them all to the app at once, so two writes (a fit, then an adjust) could
 * commit in either order while their answers went out in the order sent; RFC 9112 §9.3.2
 * allows parallel handling of safe methods only. A request waits only for the one before it
 * on its own connection: requests of other connections, and one at a time on a keep-alive
 * connection, never wait.
 *
 * With more than `maxWaiting` requests waiting on one connection, the server stops reading
 * it until half of them are answered: a client pipelining thousands of requests would
 * otherwise have them all parsed and held (60,000 unread requests on one connection: 23,532
 * held at once, a 228 MB heap; now about 1,600). Node resumes
 * reading after every request it parses, so while too many wait, each resume is undone at
 * once. Only the last request parsed can still lack bytes of its body, and it waits behind
 * the others: nothing it needs is held back.
 *
 * A request still waiting when its connection can no longer carry its answer is not run: after
 * an answer with `Connection: close` (a 413 whose body was not read: RFC 9112 §9.6, nothing
 * after it is handled), or once the client has closed its side (Node then ends the socket).
 */
export function oneAtATimePerConnection(maxWaiting = 32): RequestHandler {
  const queues = new WeakMap<Socket, ConnectionQueue>();
  return (req, res, next) => {
    const connection = req.socket;
    const own = queues.get(connection) ?? newQueue(queues, connection);
    // Parsed after the answer that closes the connection (Node reads on while the socket ends).
    if (own.closing) return;
    const previous = own.last;
    own.waiting++;
    const done = new Promise<void>((resolve) => {
      let settled = false;
      const settle = () => {
        if (settled) return; // 'finish', then 'close'
        settled = true;
        own.waiting--;
        if (res.headersSent && (saysConnectionClose(res) || !res.shouldKeepAlive)) own.closing = true;
        if (own.last === done) own.last = undefined;
        if (own.paused && own.waiting <= maxWaiting / 2) {
          own.paused = false;
          connection.resume(); // Node keeps it paused if it paused it itself (a client not reading)
        }
        resolve();
      };
      res.once('finish', settle);
      res.once('close', settle);
    });
    own.last = done;
    if (own.waiting > maxWaiting && !own.paused) {
      own.paused = true;
      if (!own.watching) {
        own.watching = true;
        connection.on('resume', () => own.paused && connection.pause());
      }
      connection.pause();
    }
    // Answered meanwhile (the client-error handler refused it): nothing is left to do. The
    // turn of the event loop in between lets other connections be served: without it, one
    // connection's queue ran as a single chain of microtasks (another client waited 2-3 s).
    if (previous) void previous.then(() => setImmediate(() => res.headersSent || res.writableEnded || own.closing || !connection.writable || next()));
    else next();
  };
}

function newQueue(queues: WeakMap<Socket, ConnectionQueue>, connection: Socket): ConnectionQueue {
  const queue: ConnectionQueue = { last: undefined, waiting: 0, paused: false, watching: false, closing: false };
  queues.set(connection, queue);
  return queue;
}

/** The requests of one connection not answered yet: `last` settles when the newest is. */
interface ConnectionQueue {
  last: Promise<void> | undefined;
  waiting: number;
  paused: boolean;
  /** Whether this connection's resumes are watched (from its first pause on). */
  watching: boolean;
  /** An answer went out that closes the connection: nothing queued after it runs. */
  closing: boolean;
}

/**
 * RFC 9112 §3.2.2: a request target in absolute form (`GET http://host:port/path`) names the
 * host in place of Host, so its authority is held to the same rule.
 */
function invalidAbsoluteTarget(target: string): string | undefined {
  const authority = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i.exec(target)?.[1];
  if (authority === undefined || (authority !== '' && isHostAndPort(authority))) return undefined;
  return `The request target's host ${quotedPrefix(authority)} is not a valid host and port.`;
}

/** An RFC 3986 host with an optional port, the port at most 65535. */
function isHostAndPort(text: string): boolean {
  const match = HOST.exec(text);
  return match !== null && Number(match[1] ?? 0) <= 65535;
}

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
      detail: `No route for ${req.method} ${quotedPrefix(req.path)}.`,
    }),
  );
};
