import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { bodyOf, rawRequest } from '../support/raw-http';
import { spawnServer, waitForListening, type ServerProcess } from '../support/server-process';
import { makeTempDir } from '../support/test-app';

// Real sockets against the built server: what Node's HTTP layer answers itself, and clients
// that never read their answers.
describe('protocol hygiene (server process)', () => {
  let dir: string;
  let server: ServerProcess;
  let url: string;

  beforeAll(async () => {
    dir = makeTempDir();
    server = spawnServer({ DB_PATH: join(dir, 'sensors.db'), PORT: '0', HOST: '127.0.0.1', REQUEST_TIMEOUT_MS: '1000', RESPONSE_TIMEOUT_MS: '1000' });
    url = await waitForListening(server);
  });
  afterAll(async () => {
    server.child.kill('SIGTERM');
    await server.exited;
    rmSync(dir, { recursive: true, force: true });
  });

  const logLines = () =>
    server
      .stdout()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { msg: string; req?: { id?: string; url?: string }; res?: { status: number } });

  async function waitForLog(predicate: (line: ReturnType<typeof logLines>[number]) => boolean, timeoutMs: number) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = logLines().filter(predicate);
      if (found.length > 0 || Date.now() > deadline) return found;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  const refusedCount = async () => {
    const text = await (await fetch(`${url}/metrics`)).text();
    const line = text.split('\n').find((candidate) => candidate.startsWith('http_requests_total{method="unknown",route="unmatched",status_class="4xx"}'));
    return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
  };

  it.each([
    ['a malformed request line', 'GARBAGE\r\n\r\n', 400, 'Bad Request', 'The request is not valid HTTP/1.1.'],
    ['headers over 16 KB', `GET /health HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'a'.repeat(17 * 1024)}\r\n\r\n`, 431, 'Request Header Fields Too Large', 'The request headers are larger than 16 KB.'],
    ['headers that never end', 'GET /health HTTP/1.1\r\nHost: localhost\r\n', 408, 'Request Timeout', 'The request did not arrive in time (REQUEST_TIMEOUT_MS; headers within 10 s).'],
  ])('answers %s as problem+json with a request id, logged with its status and counted', async (_label, head, status, title, detail) => {
    const before = await refusedCount();
    const exchange = await rawRequest(url, head);
    const answer = await exchange.waitFor(/\r\n\r\n\{.*\}$/s, 5000);
    expect(answer.startsWith(`HTTP/1.1 ${status} ${title}\r\n`)).toBe(true);
    expect(answer).toMatch(/\r\nContent-Type: application\/problem\+json; charset=utf-8\r\n/);
    const requestId = /\r\nX-Request-Id: ([0-9a-f-]{36})\r\n/.exec(answer)?.[1];
    expect(bodyOf(answer)).toEqual({ type: 'about:blank', title, status, detail, request_id: requestId });
    expect(await exchange.closedWithin(2000)).toBe(true);
    const logged = await waitForLog((line) => line.req?.id === requestId, 2000);
    expect(logged).toEqual([expect.objectContaining({ msg: 'request refused by the HTTP parser', res: { status } })]);
    expect(await refusedCount()).toBe(before + 1);
  });

  it.each([
    ['an HTTP/1.1 request without Host', 'GET /health HTTP/1.1\r\nX-Request-Id: no-host-1\r\n\r\n', 400, 'Bad Request', 'Send a Host header: HTTP/1.1 requires one.'],
    [
      'an Expect other than 100-continue',
      'POST /SEN1/fit HTTP/1.1\r\nHost: localhost\r\nX-Request-Id: expect-1\r\nExpect: foo\r\nContent-Type: application/json\r\nContent-Length: 16\r\n\r\n{"values":[1,2]}',
      417,
      'Expectation Failed',
      'Expect "foo" is not supported; only 100-continue is.',
    ],
  ])('answers %s as problem+json with its request id, logged', async (_label, head, status, title, detail) => {
    const requestId = /X-Request-Id: ([\w-]+)/.exec(head)![1];
    const exchange = await rawRequest(url, head);
    const answer = await exchange.waitFor(/\r\n\r\n\{.*\}$/s, 5000);
    expect(answer.startsWith(`HTTP/1.1 ${status} ${title}\r\n`)).toBe(true);
    expect(answer).toMatch(/\r\nContent-Type: application\/problem\+json; charset=utf-8\r\n/);
    expect(answer).toContain(`\r\nX-Request-Id: ${requestId}\r\n`);
    expect(bodyOf(answer)).toEqual({ type: 'about:blank', title, status, detail, request_id: requestId });
    exchange.socket.destroy();
    const logged = await waitForLog((line) => line.req?.id === requestId && line.msg === 'request completed', 2000);
    expect(logged.map((line) => line.res?.status)).toEqual([status]);
  });

  it('documents the 417 on every route of /openapi.json, as the answer the server gives', async () => {
    const document = (await (await fetch(`${url}/openapi.json`)).json()) as { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };
    const operations = Object.values(document.paths).flatMap((methods) => Object.values(methods));
    const examples = operations.map(({ responses }) => (responses['417'] as { content?: Record<string, { example?: Record<string, unknown> }> } | undefined)?.content?.['application/problem+json']?.example);
    expect(operations.length).toBeGreaterThan(10);
    expect(examples.every((example) => example !== undefined)).toBe(true);
    const { request_id: exampleId, ...documented } = examples[0]!;
    expect(exampleId).toEqual(expect.any(String));
    const exchange = await rawRequest(url, 'GET /health HTTP/1.1\r\nHost: localhost\r\nExpect: fast-lane\r\n\r\n');
    const answer = await exchange.waitFor(/\r\n\r\n\{.*\}$/s, 5000);
    exchange.socket.destroy();
    const { request_id: requestId, ...problem } = bodyOf(answer) as Record<string, unknown>;
    expect(requestId).toEqual(expect.any(String));
    expect(problem).toEqual(documented);
  });

  it.each([
    ['malformed', 'GARBAGE\r\n\r\n', 400],
    ['CONNECT', 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n', 501],
    ['oversized (headers over 16 KB)', `GET /health HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'a'.repeat(17 * 1024)}\r\n\r\n`, 431],
  ])('answers a write pipelined before a %s request first, then refuses the second: a write applied is never reported failed', async (_label, second, status) => {
    const sensor = `PIPE${status}`;
    const fit = `POST /${sensor}/fit HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 16\r\n\r\n{"values":[1,2]}`;
    const exchange = await rawRequest(url, fit + second);
    const answers = await exchange.waitFor(new RegExp(`^HTTP/1\\.1 200 OK\\r\\n.*HTTP/1\\.1 ${status} .*"request_id":"[0-9a-f-]{36}"\\}$`, 's'), 5000);
    expect(answers.match(/HTTP\/1\.1 \d+/g)).toEqual(['HTTP/1.1 200', `HTTP/1.1 ${status}`]);
    expect(answers).toContain(`"sensor_id":"${sensor}"`);
    expect(await exchange.closedWithin(2000)).toBe(true);
    expect((await fetch(`${url}/${sensor}/weights`)).status).toBe(200);
  });

  it('applies writes pipelined on one connection in the order sent (a fit, then an adjust: the adjust stays)', async () => {
    for (let round = 0; round < 10; round++) {
      const sensor = `ORDER${round}`;
      expect((await fetch(`${url}/${sensor}/fit`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"values":[1,2]}' })).status).toBe(200);
      const fit = `POST /${sensor}/fit HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 17\r\n\r\n{"values":[5,15]}`;
      const adjust = `POST /${sensor}/adjust HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`;
      const exchange = await rawRequest(url, fit + adjust);
      expect(await exchange.closedWithin(5000)).toBe(true);
      const versions = [...exchange.received().matchAll(/"version":(\d+)/g)].map((match) => Number(match[1]));
      expect(versions).toEqual([2, 3]);
      const history = (await (await fetch(`${url}/${sensor}/weights/history`)).json()) as Array<{ version: number; change: string }>;
      expect(history.map(({ version, change }) => [version, change])).toEqual([[3, 'adjust'], [2, 'fit'], [1, 'fit']]);
      expect((await (await fetch(`${url}/${sensor}/weights`)).json()) as { adjustment: number }).toMatchObject({ adjustment: 1.1, mean: 11 });
    }
  });

  describe('Expect: 100-continue', () => {
    const head = (sensor: string, type: string, length: number) =>
      `POST /${sensor}/fit HTTP/1.1\r\nHost: localhost\r\nContent-Type: ${type}\r\nContent-Length: ${length}\r\nExpect: 100-continue\r\n\r\n`;

    it.each([
      ['a body over the limit', head('CONT1', 'application/json', 50_000_000), 413],
      ['a body of another type', head('CONT2', 'text/plain', 16), 415],
    ])('refuses %s at once, without "100 Continue": the body is never invited', async (_label, request, status) => {
      const exchange = await rawRequest(url, request);
      const answer = await exchange.waitFor(/\r\n\r\n\{.*\}$/s, 5000);
      expect(answer.startsWith(`HTTP/1.1 ${status} `)).toBe(true);
      expect(answer).not.toContain('100 Continue');
      exchange.socket.destroy();
    });

    it('answers "100 Continue" when the route reads the body, then the answer', async () => {
      const exchange = await rawRequest(url, head('CONT3', 'application/json', 16));
      await exchange.waitFor(/^HTTP\/1\.1 100 Continue\r\n\r\n$/, 5000);
      exchange.socket.write('{"values":[1,3]}');
      const answer = await exchange.waitFor(/\r\n\r\n\{.*\}$/s, 5000);
      expect(answer).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK\r\n/);
      expect(bodyOf(answer.slice(answer.indexOf('HTTP/1.1 200')))).toMatchObject({ sensor_id: 'CONT3', mean: 2 });
      exchange.socket.destroy();
    });
  });

  describe('Transfer-Encoding (RFC 9112 §6.1, §6.3)', () => {
    const chunked = '2\r\n{}\r\n0\r\n\r\n';
    it.each([
      ['gzip, chunked', 'HTTP/1.1', 501, 'Transfer-Encoding "gzip, chunked" is not supported; only chunked is.'],
      ['gzip', 'HTTP/1.1', 400, 'Transfer-Encoding "gzip" does not end in chunked: the body\'s length cannot be known.'],
      ['chunked', 'HTTP/1.0', 400, 'Transfer-Encoding is not part of HTTP/1.0: send Content-Length.'],
      // Node's parser refuses this one before the app sees it.
      ['chunked, gzip', 'HTTP/1.1', 400, 'The request is not valid HTTP/1.1.'],
    ])('refuses %s in %s with one answer that closes the connection; a request behind it gets none', async (coding, version, status, detail) => {
      const head = `POST /TE1/fit ${version}\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: ${coding}\r\n\r\n${chunked}GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n`;
      const exchange = await rawRequest(url, head);
      expect(await exchange.closedWithin(5000)).toBe(true);
      const answer = exchange.received();
      expect(answer.match(/HTTP\/1\.1 \d{3}/g)).toEqual([`HTTP/1.1 ${status}`]);
      expect(answer).toContain('\r\nConnection: close\r\n');
      expect(bodyOf(answer)).toMatchObject({ type: 'about:blank', status, detail });
    });

    it('answers a request before one whose Transfer-Encoding does not end in chunked, then refuses that one, once', async () => {
      const head = 'GET /health HTTP/1.1\r\nHost: localhost\r\n\r\nGET /health HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: gzip\r\n\r\nGET /health HTTP/1.1\r\nHost: localhost\r\n\r\n';
      const exchange = await rawRequest(url, head);
      expect(await exchange.closedWithin(5000)).toBe(true);
      expect(exchange.received().match(/HTTP\/1\.1 \d{3}/g)).toEqual(['HTTP/1.1 200', 'HTTP/1.1 400']);
      // No fault of ours along the way (an answer written twice would log one).
      expect(logLines().filter((line) => line.msg === 'request failed')).toEqual([]);
    });
  });

  it('still answers an HTTP/1.0 request without Host', async () => {
    const exchange = await rawRequest(url, 'GET /health HTTP/1.0\r\n\r\n');
    expect(await exchange.closedWithin(5000)).toBe(true);
    expect(exchange.received()).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
  });

  it('answers CONNECT 501 as problem+json with a request id, logged and counted, and closes', async () => {
    const connects = async () => {
      const text = await (await fetch(`${url}/metrics`)).text();
      const line = text.split('\n').find((candidate) => candidate.startsWith('http_requests_total{method="CONNECT",route="unmatched",status_class="5xx"}'));
      return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
    };
    const before = await connects();
    const exchange = await rawRequest(url, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
    const answer = await exchange.waitFor(/\r\n\r\n\{.*\}$/s, 5000);
    expect(answer.startsWith('HTTP/1.1 501 Not Implemented\r\n')).toBe(true);
    const requestId = /\r\nX-Request-Id: ([0-9a-f-]{36})\r\n/.exec(answer)?.[1];
    expect(bodyOf(answer)).toEqual({ type: 'about:blank', title: 'Not Implemented', status: 501, detail: 'CONNECT is not supported: this server is not a proxy.', request_id: requestId });
    expect(await exchange.closedWithin(2000)).toBe(true);
    const logged = await waitForLog((line) => line.req?.id === requestId, 2000);
    expect(logged).toEqual([expect.objectContaining({ msg: 'CONNECT refused', res: { status: 501 } })]);
    expect(await connects()).toBe(before + 1);
  });

  it('answers a body that arrives too slowly 408 with its request id, and logs 408', async () => {
    const exchange = await rawRequest(
      url,
      'POST /SEN1/fit HTTP/1.1\r\nHost: localhost\r\nX-Request-Id: slow-body-1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"values":',
    );
    const answer = await exchange.waitFor(/\r\n\r\n\{.*\}$/s, 5000);
    expect(answer.startsWith('HTTP/1.1 408 Request Timeout\r\n')).toBe(true);
    expect(bodyOf(answer)).toEqual({
      type: 'about:blank',
      title: 'Request Timeout',
      status: 408,
      detail: 'The request did not arrive in time (REQUEST_TIMEOUT_MS; headers within 10 s).',
      request_id: 'slow-body-1',
    });
    expect(await exchange.closedWithin(2000)).toBe(true);
    const logged = await waitForLog((line) => line.req?.id === 'slow-body-1', 2000);
    expect(logged.map((line) => line.res?.status)).toEqual([408]);
  });

  it('abandons an answer its client never reads, and closes the socket', async () => {
    const asset = '/docs/assets/swagger-ui-bundle.js';
    const exchange = await rawRequest(url, '');
    exchange.socket.pause(); // reads nothing: the server's writes stall once the buffers are full
    exchange.socket.write(`GET ${asset} HTTP/1.1\r\nHost: localhost\r\nX-Request-Id: never-reads\r\n\r\n`.repeat(20));
    // The first answers fit in the socket buffers; the one that stalls is abandoned.
    const logged = await waitForLog((line) => line.req?.id === 'never-reads' && line.msg === 'request aborted', 8000);
    expect(logged).toEqual([expect.objectContaining({ req: expect.objectContaining({ url: asset }) })]);
    exchange.socket.destroy();
  }, 15_000);
});
