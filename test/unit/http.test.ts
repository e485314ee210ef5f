// The operator's HTTP endpoints listen where the pod is probed and scraped: `:PORT` means every
// address, IPv6 included (an IPv6-only pod is probed on its IPv6 address), not only 0.0.0.0.
import { expect } from 'chai';
import { parseListenAddress } from '../../src/cli/flags.js';
import { serveHealth } from '../../src/observability/http.js';

describe('HTTP listen addresses', () => {
  it('parses :PORT as every address, and keeps explicit IPv4 and IPv6 hosts', () => {
    expect(parseListenAddress(':8081')).to.deep.equal({ host: undefined, port: 8081 });
    expect(parseListenAddress('0.0.0.0:8080')).to.deep.equal({ host: '0.0.0.0', port: 8080 });
    expect(parseListenAddress('[::1]:0')).to.deep.equal({ host: '::1', port: 0 });
    expect(parseListenAddress('8080')).to.equal(undefined);
    expect(parseListenAddress(':70000')).to.equal(undefined);
  });

  it('a server on :0 answers on IPv4 and IPv6 loopback alike', async () => {
    const server = await serveHealth(() => true, parseListenAddress(':0')!);
    try {
      for (const host of ['127.0.0.1', '[::1]']) {
        const response = await fetch(`http://${host}:${server.address.port}/readyz`);
        expect(response.status, host).to.equal(200);
      }
    } finally {
      await server.close();
    }
  });
});
