import { demoBlog } from './blog';
import { type WordPressFixture, startWordPressFixture } from './rest-server';

export { DEMO_SIZES } from './blog';

/**
 * Serves the demo blog on a free loopback port until `close()`. Idle connections stay open 5 s,
 * as Apache's KeepAliveTimeout keeps them, so the crawler reuses them as it would on a real site.
 */
export async function startDemoSite(): Promise<WordPressFixture> {
  return startWordPressFixture({ collections: demoBlog(), name: 'Demo blog (wordpress-lakehouse)', keepAliveMs: 5000 });
}
