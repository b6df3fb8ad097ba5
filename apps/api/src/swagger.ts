import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Env, Hono } from 'hono';

const ASSETS = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'swagger-ui-standalone-preset.js': 'text/javascript; charset=utf-8',
} as const;

const page = (specUrl: string) => `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Touch CRM API</title>
  <link rel="stylesheet" href="/api-docs/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/api-docs/swagger-ui-bundle.js"></script>
  <script src="/api-docs/swagger-ui-standalone-preset.js"></script>
  <script src="/api-docs/init.js" data-spec-url="${specUrl}"></script>
</body>
</html>`;

/**
 * `validatorUrl: null`: Swagger UI would otherwise send the document's URL to validator.swagger.io
 * whenever the host name is public. (Query parameters carry no examples in the document, so "Try it
 * out" starts with empty filters.)
 */
export const SWAGGER_UI_OPTIONS = {
  dom_id: '#swagger-ui',
  deepLinking: true,
  persistAuthorization: true,
  validatorUrl: null,
  layout: 'StandaloneLayout',
};

const init = `const spec = document.currentScript.dataset.specUrl;
window.ui = SwaggerUIBundle({ url: spec, ...${JSON.stringify(SWAGGER_UI_OPTIONS)},
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset] });`;

/** Swagger UI served from the swagger-ui-dist package, so it works on a closed network and under a strict CSP. */
export async function mountSwaggerUi<E extends Env>(app: Hono<E>, specUrl: string): Promise<void> {
  const root = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
  const files = await Promise.all(
    Object.entries(ASSETS).map(async ([name, type]) => [name, type, await readFile(join(root, name))] as const),
  );
  const html = page(specUrl);
  app.get('/api-docs', (c) => c.html(html));
  app.get('/api-docs/', (c) => c.html(html));
  app.get('/api-docs/init.js', (c) => c.body(init, 200, { 'content-type': 'text/javascript; charset=utf-8' }));
  for (const [name, type, content] of files) {
    app.get(`/api-docs/${name}`, (c) =>
      c.body(new Uint8Array(content), 200, { 'content-type': type, 'cache-control': 'public, max-age=86400' }),
    );
  }
}
