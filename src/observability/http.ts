// The operator's HTTP endpoints: `/metrics` on the metrics address, `/healthz` and `/readyz` on the
// health address (ready once the caches have synced).

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface ListenAddress {
  /** Undefined: every address, IPv6 and IPv4 (an IPv6-only pod is probed and scraped on IPv6). */
  host: string | undefined;
  port: number;
}

export interface RunningServer {
  address: ListenAddress;
  close(): Promise<void>;
}

function listen(server: http.Server, address: ListenAddress): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    // Without a host Node listens on `::` and accepts IPv4 too where the node has it.
    const onListening = () => {
      server.off('error', reject);
      const bound = server.address() as AddressInfo;
      resolve({
        address: { host: address.host, port: bound.port },
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    };
    if (address.host === undefined) server.listen(address.port, onListening);
    else server.listen(address.port, address.host, onListening);
  });
}

export function serveMetrics(registry: Registry, address: ListenAddress): Promise<RunningServer> {
  const server = http.createServer((request, response) => {
    if (request.method !== 'GET' || request.url?.split('?')[0] !== '/metrics') {
      response.writeHead(404).end('not found\n');
      return;
    }
    registry.metrics().then(
      (body) => response.writeHead(200, { 'content-type': registry.contentType }).end(body),
      (error: unknown) => response.writeHead(500).end(`${String(error)}\n`),
    );
  });
  return listen(server, address);
}

export function serveHealth(isReady: () => boolean, address: ListenAddress): Promise<RunningServer> {
  const server = http.createServer((request, response) => {
    const path = request.url?.split('?')[0];
    if (path === '/healthz') response.writeHead(200).end('ok\n');
    else if (path === '/readyz' && isReady()) response.writeHead(200).end('ok\n');
    else if (path === '/readyz') response.writeHead(503).end('caches not synced\n');
    else response.writeHead(404).end('not found\n');
  });
  return listen(server, address);
}
