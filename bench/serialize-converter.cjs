'use strict';
// node bench/serialize-converter.cjs <tsc output dir> <out dir>
// Serializes convertJsonFile from the project compiled by tsc, as `pulumi up` meets it (Pulumi's
// TypeScript runtime transpiles with ts-node and the project's tsconfig), into <out dir>/__index.js.
// Run by plain Node: a loader such as tsx would transform the compiled code again.
const { writeFileSync } = require('node:fs');
const { join, resolve } = require('node:path');
const pulumi = require(resolve(__dirname, '../node_modules/@pulumi/pulumi'));
const [compiled, out] = process.argv.slice(2);
const { convertJsonFile } = require(join(resolve(compiled), 'handlers/parquet/convert.js'));
pulumi.runtime
  .serializeFunction(() => convertJsonFile, { isFactoryFunction: true, exportName: 'convert', serialize: () => true, allowSecrets: true })
  .then((closure) => writeFileSync(join(out, '__index.js'), closure.text))
  .catch((error) => {
    process.stderr.write(`serialize-converter: ${error.stack ?? error}\n`);
    process.exit(1);
  });
