import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** A function that keeps the CPU busy for `ms`, under its own name, so the profile charges the time to it. */
const spinner = (name: string) => `function ${name}(ms) {
  const end = performance.now() + ms;
  let x = 0;
  while (performance.now() < end) x += Math.sqrt(x + 1);
  return x;
}`;

/**
 * The loop both programs run for about 0.7 s: 10 ms per turn, of which the
 * proxy engine takes 6, the router 3 and logging 1, and one turn in ten
 * a 1 ms call of `tinyWork` (about 1% of the time, far under any frame that
 * a 5% threshold keeps and far over one sample).
 */
const loop = (proxy: string, router: string, log: string) => `
const stop = performance.now() + 700;
for (let turn = 0; performance.now() < stop; turn++) {
  ${proxy}(6);
  ${router}(3);
  ${log}(1);
  if (turn % 10 === 0) tinyWork(1);
}`;

function profile(dir: string, script: string, name: string): string {
  const result = spawnSync(
    process.execPath,
    ['--cpu-prof', `--cpu-prof-dir=${dir}`, `--cpu-prof-name=${name}`, '--cpu-prof-interval=100', script],
    { encoding: 'utf8' },
  );
  if (result.status !== 0) throw new Error(`${script} failed: ${result.stderr}`);
  return path.join(dir, name);
}

/**
 * A profile of a program laid out as the tsc build of the gateway runs:
 * its own files under gateway/dist/, its packages under node_modules/.
 */
export function profileUnbundled(dir: string): string {
  const app = path.join(dir, 'app');
  const files: Record<string, string> = {
    'node_modules/http-proxy-middleware/index.js': `${spinner('proxyEngineSpin')}\nmodule.exports = { proxyEngineSpin };`,
    'node_modules/express/index.js': `${spinner('routerSpin')}\nmodule.exports = { routerSpin };`,
    'gateway/dist/http/log-requests.js': `${spinner('logSpin')}\nmodule.exports = { logSpin };`,
    'gateway/dist/main.js': [
      "const { proxyEngineSpin } = require('http-proxy-middleware');",
      "const { routerSpin } = require('express');",
      "const { logSpin } = require('./http/log-requests.js');",
      spinner('tinyWork'),
      loop('proxyEngineSpin', 'routerSpin', 'logSpin'),
    ].join('\n'),
  };
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(app, file)), { recursive: true });
    writeFileSync(path.join(app, file), text);
  }
  return profile(dir, path.join(app, 'gateway/dist/main.js'), 'unbundled.cpuprofile');
}

/**
 * A profile of one file laid out as esbuild bundles the gateway
 * (gateway/bundle/serve.js): each input file's code after a comment that
 * names it, packages as ../node_modules/..., the gateway's own as src/....
 */
export function profileBundled(dir: string): string {
  const bundle = path.join(dir, 'bundle/serve.js');
  mkdirSync(path.dirname(bundle), { recursive: true });
  writeFileSync(
    bundle,
    [
      '"use strict";',
      '',
      '// ../node_modules/express/lib/router/index.js',
      spinner('routerHandle'),
      '',
      '// ../node_modules/pino/lib/tools.js',
      spinner('asJson'),
      '',
      '// src/proxy/create-adapter-proxy.ts',
      spinner('proxyRequest'),
      '',
      '// src/main.ts',
      spinner('tinyWork'),
      loop('proxyRequest', 'routerHandle', 'asJson'),
    ].join('\n'),
  );
  return profile(dir, bundle, 'bundled.cpuprofile');
}
