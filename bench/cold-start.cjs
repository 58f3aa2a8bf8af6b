'use strict';
// node bench/cold-start.cjs <unpacked archive dir> <event JSON>
// Loads the archive's __index.js the way the Lambda runtime does (require, then `handler`), calls
// the handler once with the event, and prints one JSON line of timings on stdout (last line).
const bootMs = performance.now(); // time from process start (timeOrigin) to this line: Node's own startup
const { join } = require('node:path');
const [dir, eventJson] = process.argv.slice(2);
const event = JSON.parse(eventJson);

(async () => {
  const t0 = performance.now();
  // The serialized module calls the callback factory at load time (`exports.handler = __f0()`),
  // so this also builds the SDK clients, as a Lambda cold start does during init.
  const { handler } = require(join(dir, '__index.js'));
  const t1 = performance.now();
  const result = await handler(event);
  const t2 = performance.now();
  process.stdout.write(`\n${JSON.stringify({ bootMs, importMs: t1 - t0, invokeMs: t2 - t1, result, maxRssKb: process.resourceUsage().maxRSS })}\n`);
})().catch((error) => {
  process.stderr.write(`cold-start: ${error.stack ?? error}\n`);
  process.exit(1);
});
