'use strict';
// `npm run convert`: runs the converter CLI (handlers/parquet/cli.ts) as one CommonJS bundle, so a
// run pays no TypeScript compile (tsx: ~200 ms per start). The bundle is built by esbuild (shipped
// with tsx) into the git-ignored dist/ when it is missing or older than a source under handlers/.
const { existsSync, readdirSync, statSync } = require('node:fs');
const { join, resolve } = require('node:path');

const ROOT = resolve(__dirname, '..');
const BUNDLE = join(ROOT, 'dist/convert.cjs');

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/** The path of an up-to-date bundle of the converter CLI. */
function buildConverter() {
  const stale = !existsSync(BUNDLE) || statSync(BUNDLE).mtimeMs < Math.max(newestSource(join(ROOT, 'handlers')), statSync(__filename).mtimeMs);
  if (stale) {
    require('esbuild').buildSync({
      entryPoints: [join(ROOT, 'handlers/parquet/cli.ts')],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node24',
      outfile: BUNDLE,
      logLevel: 'warning',
    });
  }
  return BUNDLE;
}

module.exports = { buildConverter };

if (require.main === module) {
  const bundle = buildConverter();
  // The bundle's `require.main === module` check must see it as the program.
  process.argv[1] = bundle;
  require('node:module').runMain(bundle);
}
