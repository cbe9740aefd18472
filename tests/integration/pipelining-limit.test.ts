import express from 'express';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { oneAtATimePerConnection } from '../../src/interfaces/http/http-guards.middleware';
import { rawRequest } from '../support/raw-http';

// A client that pipelines many requests on one connection has them parsed only while few
// wait: past the limit the server stops reading that connection until half are answered.
// The middleware alone, in a real Node HTTP server, so the test can hold the first answer
// back and count what Node parses.
describe('oneAtATimePerConnection: requests waiting on one connection are bounded', () => {
  const LIMIT = 4;
  let server: Server;
  let url: string;
  let parsed: number;
  let handled: string[];
  let release: () => void;
  let held: Promise<void>;

  beforeEach(async () => {
    parsed = 0;
    handled = [];
    held = new Promise((resolve) => (release = resolve));
    const app = express();
    app.use(oneAtATimePerConnection(LIMIT));
    app.get('/hold', (_req, res, next) => void held.then(() => res.type('text/plain').send('held\n'), next));
    // As a 413 whose body was not read answers: the connection ends with it.
    app.get('/close', (_req, res) => void res.set('Connection', 'close').type('text/plain').send('bye\n'));
    app.get('/n/:index', (req, res) => {
      handled.push(req.params.index);
      res.type('text/plain').send(`${req.params.index}\n`);
    });
    server = createServer(app);
    server.on('request', () => parsed++);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(async () => {
    server.closeAllConnections();
    server.close();
    await once(server, 'close');
  });

  const get = (path: string) => `GET ${path} HTTP/1.1\r\nHost: localhost\r\n\r\n`;
  const until = async (condition: () => boolean, timeoutMs: number) => {
    for (const deadline = Date.now() + timeoutMs; !condition() && Date.now() < deadline; ) await new Promise((resolve) => setTimeout(resolve, 10));
    return condition();
  };

  it('stops reading past the limit, reads on once half are answered, and answers every request in order', async () => {
    // One write: Node parses all of it in one go, whatever the limit.
    const exchange = await rawRequest(url, get('/hold') + Array.from({ length: 10 }, (_, i) => get(`/n/${i}`)).join(''));
    expect(await until(() => parsed === 11, 2000)).toBe(true);
    // Sent after the limit was passed: not read while the first answer is held.
    exchange.socket.write(Array.from({ length: 10 }, (_, i) => get(`/n/${10 + i}`)).join(''));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(parsed).toBe(11);
    expect(exchange.received()).toBe('');

    release();
    const bodies = ['held', ...Array.from({ length: 20 }, (_, i) => String(i))];
    const answers = await exchange.waitFor(new RegExp(`(HTTP/1\\.1 200 OK[^]*?\\r\\n\\r\\n[^\\r\\n]*\\n){${bodies.length}}`), 5000);
    expect(answers.split('HTTP/1.1 200 OK').slice(1).map((answer) => answer.slice(answer.indexOf('\r\n\r\n') + 4).trim())).toEqual(bodies);
    expect(parsed).toBe(21);
    exchange.socket.destroy();
  });

  it('never pauses a connection with no more than the limit waiting', async () => {
    const exchange = await rawRequest(url, get('/hold') + Array.from({ length: LIMIT - 1 }, (_, i) => get(`/n/${i}`)).join(''));
    expect(await until(() => parsed === LIMIT, 2000)).toBe(true);
    exchange.socket.write(get('/n/late'));
    expect(await until(() => parsed === LIMIT + 1, 2000)).toBe(true);
    release();
    await exchange.waitFor(/\r\n\r\nlate\n$/, 5000);
    exchange.socket.destroy();
  });

  it("lets other connections be served while one connection's queue is worked through", async () => {
    // 1,000 requests in one write: all parsed at once, all waiting behind the held one.
    const flood = await rawRequest(url, get('/hold') + Array.from({ length: 1000 }, (_, i) => get(`/n/${i}`)).join(''));
    expect(await until(() => parsed === 1001, 2000)).toBe(true);
    const other = await rawRequest(url, '');
    release();
    other.socket.write(get('/n/other'));
    await other.waitFor(/\r\n\r\nother\n$/, 5000);
    await flood.waitFor(/\r\n\r\n999\n$/, 5000);
    // Served between two of the flood's requests, not after all of them.
    expect(handled.indexOf('other')).toBeLessThan(500);
    flood.socket.destroy();
    other.socket.destroy();
  });

  it('runs nothing queued after an answer that closes the connection (RFC 9112 §9.6)', async () => {
    const exchange = await rawRequest(url, get('/close') + get('/n/1') + get('/n/2'));
    expect(await exchange.closedWithin(2000)).toBe(true);
    await new Promise((resolve) => setImmediate(resolve));
    expect(handled).toEqual([]);
    expect(exchange.received().match(/HTTP\/1\.1 /g)).toHaveLength(1);
    expect(exchange.received()).toMatch(/\r\n\r\nbye\n$/);
  });

  it('runs nothing still waiting once the client has closed its side of the connection', async () => {
    const exchange = await rawRequest(url, get('/hold') + get('/n/1') + get('/n/2'));
    expect(await until(() => parsed === 3, 2000)).toBe(true);
    exchange.socket.end(); // FIN: Node ends the socket, so no answer could go out
    await new Promise((resolve) => setTimeout(resolve, 100));
    release();
    expect(await exchange.closedWithin(2000)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(handled).toEqual([]);
  });
});
