'use strict';
// node bench/serialize.cjs <tsc output dir> <module, relative to it> <export> <out dir>
// Serializes one exported function of the project compiled by tsc, as `pulumi up` meets it
// (Pulumi's TypeScript runtime transpiles with ts-node and the project's tsconfig), into
// <out dir>/__index.js with the same export name. Run by plain Node: a loader such as tsx would
// transform the compiled code again.
const { writeFileSync } = require('node:fs');
const { join, resolve } = require('node:path');
const pulumi = require(resolve(__dirname, '../node_modules/@pulumi/pulumi'));
const [compiled, modulePath, exportName, out] = process.argv.slice(2);
const fn = require(join(resolve(compiled), modulePath))[exportName];
if (typeof fn !== 'function') {
  process.stderr.write(`serialize: ${modulePath} exports no function ${exportName}\n`);
  process.exit(2);
}
pulumi.runtime
  .serializeFunction(() => fn, { isFactoryFunction: true, exportName, serialize: () => true, allowSecrets: true })
  .then((closure) => writeFileSync(join(out, '__index.js'), closure.text))
  .catch((error) => {
    process.stderr.write(`serialize: ${error.stack ?? error}\n`);
    process.exit(1);
  });
