import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface LoopbackServer {
  /** `http://<host>:<port>` */
  origin: string;
  server: Server;
  /** Requests received so far. */
  readonly requests: number;
  /** Stops at once, dropping kept-alive connections instead of waiting for them. */
  close(): Promise<void>;
}

/** An HTTP server on a free loopback port; `handler` decides every answer. */
export async function startServer(handler: RequestListener, host = '127.0.0.1'): Promise<LoopbackServer> {
  const state = { requests: 0 };
  const server = createServer((req, res) => {
    state.requests++;
    handler(req, res);
  });
  server.keepAliveTimeout = 1;
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://${host}:${port}`,
    server,
    get requests() {
      return state.requests;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
