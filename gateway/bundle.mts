/**
 * Bundles the gateway from its TypeScript sources into gateway/bundle: what
 * the image ships and runs, with no node_modules. esbuild strips the types
 * (type-checking is `tsc`'s job, in `npm test`), so the image's build stage
 * needs only the gateway's packages and esbuild, not the compiler.
 *
 * - bundle/serve.js holds the gateway and every package it uses, as one
 *   CommonJS file. Node then resolves and reads one file instead of some
 *   three hundred, and the ES-only packages (http-proxy-middleware, httpxy,
 *   jose) become CommonJS: loaded through `require(esm)`, httpxy's
 *   `import ... from 'node:http'` makes Node evaluate every export of
 *   node:http, including the getters that load its bundled undici and web
 *   streams, which the gateway never uses. Start-up is about a fifth faster
 *   and the process about 10 MB smaller.
 * - bundle/main.js is src/main.ts alone: it takes the signals first and only
 *   then requires ./serve (see main.ts).
 *
 * Not minified: stack traces keep their function names and the file stays
 * readable. Packages loaded lazily (jose for OIDC, yaml for config files)
 * stay lazy: their code is in the file but runs only when first required.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

await build({
  absWorkingDir: path.dirname(fileURLToPath(import.meta.url)),
  entryPoints: ['src/main.ts', 'src/serve.ts'],
  outdir: 'bundle',
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node24',
  // main.js requires ./serve at run time, once its signal handlers are in place.
  // pino-pretty is a development dependency for readable logs on a terminal:
  // required where installed (npm start), absent from the image.
  external: ['./serve', 'pino-pretty'],
  legalComments: 'none',
  logLevel: 'warning',
});
