import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..');

/**
 * The heap flags the Lambda Node.js runtime's bootstrap puts on node's command line for a function
 * of `memoryMb`: a tenth of the memory for the new space (two semi-spaces), the rest for the old
 * space (read from the runtime image's /var/runtime/bootstrap). They come after NODE_OPTIONS, so a
 * function cannot replace them.
 */
export function lambdaHeapFlags(memoryMb: number): string[] {
  const newSpace = Math.floor(memoryMb / 10);
  return [`--max-semi-space-size=${Math.floor(newSpace / 2)}`, `--max-old-space-size=${memoryMb - newSpace}`];
}

/**
 * A folder whose `__index.js` exports `exportName` of `module` (e.g. `handlers/raw.js`) as
 * aws.lambda.CallbackFunction would ship it from `pulumi up`: the project compiled by tsc (once per
 * `tmp`), then the function serialized by pulumi.runtime.serializeFunction in plain Node. Pulumi
 * emits every module-level function as a wrapper that builds a `with` scope on each call, and a
 * global read inside it (`undefined` too: tsc keeps the identifier) is a dynamic lookup, so this
 * form can be slower than the TypeScript module the benches import. The packages an archive
 * carries resolve from the project's node_modules.
 */
export function lambdaForm(tmp: string, module: string, exportName: string): string {
  const compiled = join(tmp, 'tsc');
  if (!existsSync(compiled)) execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', ROOT, '--outDir', compiled, '--noEmit', 'false']);
  const dir = join(tmp, `lambda-${exportName}`);
  mkdirSync(dir, { recursive: true });
  execFileSync(process.execPath, [join(ROOT, 'bench/serialize.cjs'), compiled, module, exportName, dir], { env: { ...process.env, NODE_OPTIONS: '' } });
  if (!existsSync(join(dir, 'node_modules'))) symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}
