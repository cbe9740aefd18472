import express, { Router } from 'express';
import { dirname } from 'node:path';
import { methodNotAllowed } from './http-guards.middleware';
import { buildOpenApiDocument } from './openapi-document';

// Swagger UI from the swagger-ui-dist package, served from node_modules: no CDN, works offline.
// Its folder found by path: the package's main module would load its 1.4 MB bundle into the server.
const SWAGGER_UI_ASSETS = dirname(require.resolve('swagger-ui-dist/package.json'));
const DOCS_PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>sensor-alerts API</title>
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
  <div id="ui"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script>window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#ui' });</script>
</body>
</html>
`;

/** GET /openapi.json and GET /docs (with its static assets under /docs/assets). */
export function docsRouter(): Router {
  const document = buildOpenApiDocument();
  const router = Router();
  // The first page a person opens (the start line points at the server's root): say what
  // this is and where to go, instead of a 404.
  const { title, version, description } = document.info as { title: string; version: string; description: string };
  const index = {
    service: title,
    version,
    description,
    links: { docs: '/docs', openapi: '/openapi.json', health: '/health', ready: '/ready', metrics: '/metrics' },
  };
  router.route('/').get((_req, res) => void res.json(index)).all(methodNotAllowed('GET'));
  router.route('/openapi.json').get((_req, res) => void res.json(document)).all(methodNotAllowed('GET'));
  router.route('/docs').get((_req, res) => void res.type('html').send(DOCS_PAGE)).all(methodNotAllowed('GET'));
  router.use('/docs/assets', express.static(SWAGGER_UI_ASSETS, { index: false, immutable: true, maxAge: '1d' }));
  return router;
}
