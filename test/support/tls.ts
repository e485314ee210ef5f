// Certificates for TLS tests, made with openssl (Debian package openssl; .ci/run installs it).

import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface TestCertificates {
  ca: Buffer;
  serverKey: Buffer;
  serverCert: Buffer;
  clientKey: Buffer;
  clientCert: Buffer;
}

/**
 * A CA, a server certificate (for `serverAltName`, by default the address 127.0.0.1) and a client
 * certificate, in `dir`.
 */
export function makeCertificates(dir: string, caName: string, serverAltName = 'IP:127.0.0.1'): TestCertificates {
  const file = (name: string) => path.join(dir, `${caName}-${name}`);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', '-x509', ...ec, '-keyout', file('ca.key'), '-out', file('ca.crt'), '-days', '1', '-subj', `/CN=${caName}`);
  writeFileSync(file('server.ext'), `subjectAltName=${serverAltName}\nextendedKeyUsage=serverAuth\n`);
  writeFileSync(file('client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const [who, cn] of [['server', serverAltName.replace(/^\w+:/, '')], ['client', 'netpol-operator']] as const) {
    openssl('req', ...ec, '-keyout', file(`${who}.key`), '-out', file(`${who}.csr`), '-subj', `/CN=${cn}`);
    openssl('x509', '-req', '-in', file(`${who}.csr`), '-CA', file('ca.crt'), '-CAkey', file('ca.key'), '-CAcreateserial', '-out', file(`${who}.crt`), '-days', '1', '-extfile', file(`${who}.ext`));
  }
  const read = (name: string) => readFileSync(file(name));
  return { ca: read('ca.crt'), serverKey: read('server.key'), serverCert: read('server.crt'), clientKey: read('client.key'), clientCert: read('client.crt') };
}

/** Fails with a clear message when openssl is missing (the TLS tests need it; they never skip). */
export function requireOpenssl(): void {
  try {
    execFileSync('openssl', ['version'], { stdio: 'pipe' });
  } catch {
    throw new Error('openssl is needed for the TLS tests (Debian package openssl; .ci/run installs it)');
  }
}
