// Everything the kubeconfig says about how to reach the cluster is honoured: `proxy-url` (an HTTP
// forward proxy on loopback, tunnelling with CONNECT, for http and https servers alike) and
// `tls-server-name`, while connections are still reused. `status` through the proxy is what a person
// behind a corporate proxy runs.
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { KubeConfig } from '@kubernetes/client-node';
import { HttpKubeApi } from '../../src/kube/http-api.js';
import { RESOURCES } from '../../src/kube/resources.js';
import { main } from '../../src/cli/app.js';
import { TestApiServer } from '../support/apiserver/server.js';
import { makeCertificates, requireOpenssl, type TestCertificates } from '../support/tls.js';

/** An HTTP forward proxy on 127.0.0.1: CONNECT tunnels (only to loopback) and absolute-form requests. */
interface ForwardProxy {
  url: string;
  /** `host:port` of every CONNECT, in order. */
  tunnels: string[];
  /** Absolute URLs of plain forwarded requests. */
  forwarded: string[];
  close(): Promise<void>;
}

async function startForwardProxy(): Promise<ForwardProxy> {
  const tunnels: string[] = [];
  const forwarded: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = http.createServer((req, res) => {
    forwarded.push(req.url ?? '');
    const target = new URL(req.url ?? '');
    const upstream = http.request({ hostname: target.hostname, port: target.port, path: `${target.pathname}${target.search}`, method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    tunnels.push(req.url ?? '');
    const [host, port] = (req.url ?? '').split(/:(?=\d+$)/);
    if (host !== '127.0.0.1') {
      client.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    const upstream = net.connect(Number(port), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    tunnels,
    forwarded,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('kubeconfig proxy-url and tls-server-name (integration)', function () {
  this.timeout(30_000);
  let server: TestApiServer;
  let proxy: ForwardProxy;
  let dir: string;

  before(async () => {
    server = await TestApiServer.start();
    server.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } });
    dir = mkdtempSync(path.join(tmpdir(), 'netpol-proxy-'));
  });
  beforeEach(async () => {
    proxy = await startForwardProxy();
  });
  afterEach(async () => {
    await proxy.close();
  });
  after(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A kubeconfig file as a user writes it, with `proxy-url` on the cluster. */
  function kubeconfigFile(name: string, cluster: Record<string, unknown>, token = server.adminToken): string {
    const file = path.join(dir, name);
    writeFileSync(
      file,
      stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'c', cluster }],
        users: [{ name: 'u', user: { token } }],
        contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u' } }],
        'current-context': 'ctx',
      }),
    );
    return file;
  }

  const loaded = (file: string): KubeConfig => {
    const kc = new KubeConfig();
    kc.loadFromFile(file);
    return kc;
  };

  it('sends every request of an http server through the proxy, reusing one tunnel', async () => {
    const file = kubeconfigFile('http', { server: server.url, 'insecure-skip-tls-verify': true, 'proxy-url': proxy.url });
    const api = new HttpKubeApi(loaded(file));
    try {
      const mark = server.requests.mark();
      for (let i = 0; i < 20; i++) expect((await api.get(RESOURCES.namespaces, 'shop')).metadata?.name).to.equal('shop');
      expect(server.requests.query({ since: mark })).to.have.length(20);
      expect(proxy.tunnels, 'one kept-alive tunnel for 20 requests').to.deep.equal([`127.0.0.1:${new URL(server.url).port}`]);
    } finally {
      api.close();
    }
  });

  it('`status` reaches the cluster only through the proxy', async () => {
    const file = kubeconfigFile('status', { server: server.url, 'insecure-skip-tls-verify': true, 'proxy-url': proxy.url });
    const stderr: string[] = [];
    const mark = server.requests.mark();
    const code = await main(['status', '--kubeconfig', file, '-o', 'json'], { stdout: () => {}, stderr: (text) => stderr.push(text), readStdin: () => '', env: {} });
    expect(stderr.join(''), 'no error').to.equal('');
    expect(code, 'findings (no operator leads), not a connection error').to.equal(1);
    expect(server.requests.query({ since: mark }).length).to.be.greaterThan(3);
    expect(proxy.tunnels.length, 'went through the proxy').to.be.greaterThan(0);
  });

  describe('https', () => {
    let certs: TestCertificates;
    let front: https.Server;
    let frontUrl: string;

    before(async () => {
      requireOpenssl();
      // The certificate names api.netpol.test only, not the address the kubeconfig's server URL uses.
      certs = makeCertificates(dir, 'proxy-ca', 'DNS:api.netpol.test');
      const upstream = new URL(server.url);
      front = https.createServer({ key: certs.serverKey, cert: certs.serverCert }, (req, res) => {
        const forwarded = http.request({ hostname: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: { ...req.headers, host: upstream.host } }, (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        });
        forwarded.on('error', () => res.destroy());
        req.pipe(forwarded);
      });
      await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
      frontUrl = `https://127.0.0.1:${(front.address() as AddressInfo).port}`;
    });
    after(async () => {
      if (!front) return;
      front.closeAllConnections();
      await new Promise<void>((resolve) => front.close(() => resolve()));
    });

    it('tunnels with CONNECT and verifies the server certificate by tls-server-name', async () => {
      const file = kubeconfigFile('https', {
        server: frontUrl,
        'certificate-authority-data': certs.ca.toString('base64'),
        'tls-server-name': 'api.netpol.test',
        'proxy-url': proxy.url,
      });
      const api = new HttpKubeApi(loaded(file));
      try {
        for (let i = 0; i < 5; i++) expect((await api.get(RESOURCES.namespaces, 'shop')).metadata?.name).to.equal('shop');
        expect(proxy.tunnels).to.deep.equal([`127.0.0.1:${new URL(frontUrl).port}`]);
      } finally {
        api.close();
      }
    });

    it('refuses the same server without tls-server-name: the certificate does not name 127.0.0.1', async () => {
      const file = kubeconfigFile('https-no-name', { server: frontUrl, 'certificate-authority-data': certs.ca.toString('base64'), 'proxy-url': proxy.url });
      const api = new HttpKubeApi(loaded(file));
      try {
        const error = await api.get(RESOURCES.namespaces, 'shop').then(
          () => undefined,
          (caught: unknown) => caught as Error,
        );
        expect(error?.message).to.match(/^get namespaces shop: connection failed: .*(altnames|certificate)/i);
        expect(proxy.tunnels.length, 'it did go through the proxy').to.equal(1);
      } finally {
        api.close();
      }
    });
  });
});
