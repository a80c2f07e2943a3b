// Throwaway PKI for the TLS tests, made with openssl: a CA, a server certificate for
// 127.0.0.1/localhost signed by it, a client certificate for mutual TLS, and a second,
// unrelated CA that must NOT be trusted (the "wrong CA" cases).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestPki {
  dir: string;
  /** PEM of the CA that signed server and client certificates. */
  caFile: string;
  /** PEM of another CA that signed nothing here. */
  otherCaFile: string;
  serverCertFile: string;
  /** Unencrypted PKCS#8 key of the server certificate. */
  serverKeyFile: string;
  /** Server key then certificate in one file (Kafka's PEM keystore). */
  serverKeystoreFile: string;
  clientCertFile: string;
  clientKeyFile: string;
  remove(): void;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

function makeCa(dir: string, name: string): void {
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
}

function makeLeaf(dir: string, name: string, cn: string, ext: string): void {
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`], dir);
  writeFileSync(join(dir, `${name}.ext`), ext);
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`], dir);
}

/** A fresh PKI in a temp dir; files readable by every user (the Elasticsearch/nginx users too). */
export function createTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'tailplow-pki-'));
  makeCa(dir, 'ca');
  makeCa(dir, 'other-ca');
  makeLeaf(dir, 'server', 'localhost', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  makeLeaf(dir, 'client', 'tailplow-client', 'extendedKeyUsage=clientAuth\n');
  // openssl 3 writes PKCS#8 ("BEGIN PRIVATE KEY") with -nodes, which Kafka's PEM keystore needs.
  writeFileSync(join(dir, 'server-keystore.pem'), readFileSync(join(dir, 'server.key'), 'utf8') + readFileSync(join(dir, 'server.pem'), 'utf8'));
  execFileSync('chmod', ['-R', 'a+rX', dir]);
  return {
    dir,
    caFile: join(dir, 'ca.pem'),
    otherCaFile: join(dir, 'other-ca.pem'),
    serverCertFile: join(dir, 'server.pem'),
    serverKeyFile: join(dir, 'server.key'),
    serverKeystoreFile: join(dir, 'server-keystore.pem'),
    clientCertFile: join(dir, 'client.pem'),
    clientKeyFile: join(dir, 'client.key'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
