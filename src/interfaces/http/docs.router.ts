import { Router, type RequestHandler } from 'express';
import { dirname, join } from 'node:path';
import { methodNotAllowed } from './http-guards.middleware';
import { buildOpenApiDocument } from './openapi-document';
import { noQuerySchema } from './request-schemas';
import { parseQuery } from './validation';

// Swagger UI from the swagger-ui-dist package, served from node_modules: no CDN, works offline.
// Its folder found by path: the package's main module would load its 1.4 MB bundle into the server.
const SWAGGER_UI_ASSETS = dirname(require.resolve('swagger-ui-dist/package.json'));
// Exactly the files the page loads: the package also holds its package.json, a README and a
// stock index.html that would load the public petstore document under our origin.
const ASSET_FILES = new Map([
  ['swagger-ui.css', join(SWAGGER_UI_ASSETS, 'swagger-ui.css')],
  ['swagger-ui-bundle.js', join(SWAGGER_UI_ASSETS, 'swagger-ui-bundle.js')],
]);
// In a file of its own rather than inline, so the page's policy allows scripts from 'self' only.
// Every URL of the page is relative to it (/docs), so the page works behind a reverse proxy
// that serves the API under a path of its own (/sensors/docs loads /sensors/openapi.json).
const DOCS_SCRIPT = "window.ui = SwaggerUIBundle({ url: 'openapi.json', dom_id: '#ui' });\n";
const DOCS_PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>sensor-alerts API</title>
  <link rel="stylesheet" href="docs/assets/swagger-ui.css">
</head>
<body>
  <div id="ui"></div>
  <script src="docs/assets/swagger-ui-bundle.js"></script>
  <script src="docs/assets/docs.js"></script>
</body>
</html>
`;
// Swagger UI sets inline styles and shows data: images; nothing else comes from anywhere but
// here, and no other site may frame the page (clickjacking).
export const DOCS_CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** These routes take no query parameters; like every route, they refuse one by name. */
const takesNoQuery: RequestHandler = (req, _res, next) => {
  parseQuery(noQuerySchema, req.query);
  next();
};

const framedNowhere: RequestHandler = (_req, res, next) => {
  res.set({ 'Content-Security-Policy': DOCS_CONTENT_SECURITY_POLICY, 'X-Frame-Options': 'DENY' });
  next();
};

/** GET /openapi.json and GET /docs (with its static assets under /docs/assets). */
export function docsRouter(): Router {
  const document = buildOpenApiDocument();
  const router = Router({ caseSensitive: true, strict: true });
  // The first page a person opens (the start line points at the server's root): say what
  // this is and where to go, instead of a 404.
  const { title, version, description } = document.info as { title: string; version: string; description: string };
  const index = {
    service: title,
    version,
    description,
    links: { docs: '/docs', openapi: '/openapi.json', health: '/health', ready: '/ready', metrics: '/metrics' },
  };
  router.route('/').get(takesNoQuery, (_req, res) => void res.json(index)).all(methodNotAllowed('GET'));
  router.route('/openapi.json').get(takesNoQuery, (_req, res) => void res.json(document)).all(methodNotAllowed('GET'));
  router.route('/docs').get(takesNoQuery, framedNowhere, (_req, res) => void res.type('html').send(DOCS_PAGE)).all(methodNotAllowed('GET'));
  // Routing is strict (/health/ is not /health), but a person typing /docs/ means the page.
  router.route('/docs/').get(takesNoQuery, (_req, res) => res.redirect(301, '../docs')).all(methodNotAllowed('GET'));
  router.get('/docs/assets/docs.js', takesNoQuery, framedNowhere, (_req, res) => void res.type('text/javascript').set('Cache-Control', 'public, max-age=86400').send(DOCS_SCRIPT));
  // One route per file, no parameter: anything else under /docs/assets is an unknown route.
  for (const [name, file] of ASSET_FILES) {
    router.get(`/docs/assets/${name}`, takesNoQuery, framedNowhere, (_req, res, next) => res.sendFile(file, { immutable: true, maxAge: '1d' }, (error) => error && next(error)));
  }
  return router;
}
