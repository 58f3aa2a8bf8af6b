import test from 'ava';
import { createLogger } from '../../handlers/log';

test('every log line is one JSON object carrying the base fields and the call fields', (t) => {
  const lines: string[] = [];
  const log = createLogger({ function: 'data_wordpressapi_raw' }, (line) => lines.push(line));
  log.info('endpoint done', { endpoint: 'posts', items: 3 });
  log.error('boom');
  t.is(lines.length, 2);
  const first = JSON.parse(lines[0]);
  t.like(first, { level: 'INFO', message: 'endpoint done', function: 'data_wordpressapi_raw', endpoint: 'posts', items: 3 });
  t.false(lines[0].includes('\n'));
  t.is(JSON.parse(lines[1]).level, 'ERROR');
});
