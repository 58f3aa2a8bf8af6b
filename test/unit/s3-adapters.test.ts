import test from 'ava';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { getStream, listKeys, putFile } from '../../handlers/aws/s3';
import { startS3 } from '../helpers/s3rver';

test('putFile stores the file byte for byte with its metadata, and listKeys pages through every key', async (t) => {
  const s3 = await startS3(['lake']);
  t.teardown(() => s3.stop());
  const dir = await mkdtemp(join(tmpdir(), 'put-'));
  const body = JSON.stringify([{ id: 1, title: 'caf\u00e9 \u{1F600}' }]);
  await writeFile(join(dir, 'a.json'), body);
  await putFile(s3.client, 'lake', 'wordpress_api/posts/posts.json', join(dir, 'a.json'), {
    contentType: 'application/json',
    metadata: { items: '1' },
  });
  const chunks: Buffer[] = [];
  for await (const chunk of await getStream(s3.client, 'lake', 'wordpress_api/posts/posts.json')) chunks.push(chunk as Buffer);
  t.is(Buffer.concat(chunks).toString('utf8'), body);
  const head = await s3.client.send(new HeadObjectCommand({ Bucket: 'lake', Key: 'wordpress_api/posts/posts.json' }));
  t.is(head.Metadata?.items, '1');

  for (let i = 0; i < 1005; i++) {
    await putFile(s3.client, 'lake', `other/${String(i).padStart(4, '0')}.json`, join(dir, 'a.json'), { contentType: 'application/json' });
  }
  const keys = await listKeys(s3.client, 'lake', 'other/');
  t.is(keys.length, 1005);
  t.deepEqual(await listKeys(s3.client, 'lake', 'wordpress_api/'), ['wordpress_api/posts/posts.json']);
});
