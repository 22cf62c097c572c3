/**
 * HTTPS on the public port (CHP's --ssl-key/--ssl-cert) and --redirect-port, over the wire, for
 * highrate's proxy and for CHP 5.3 with the same flags. The certificate is made by openssl here.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { call, freePort, REPO, waitFor, type Answer } from './tools.js';

const TOKEN = 'chp-tls-token';
const BINS = {
  highrate: path.join(REPO, 'dist/src/proxy/main.js'),
  chp: path.join(REPO, 'node_modules/configurable-http-proxy/bin/configurable-http-proxy'),
};

function callHttps(url: string, ca: Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    https.get(url, { ca, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    }).on('error', reject);
  });
}

let dir: string;
let key: string;
let cert: string;
let backend: http.Server;
let backendUrl: string;
let tlsBackend: https.Server;
let tlsBackendUrl: string;
let mtlsBackend: https.Server;
let mtlsBackendUrl: string;
before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hr-tls-'));
  key = path.join(dir, 'key.pem');
  cert = path.join(dir, 'cert.pem');
  const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert,
    '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { encoding: 'utf8' });
  assert.equal(made.status, 0, made.stderr);
  backend = http.createServer((req, res) => {
    req.resume();
    const body = JSON.stringify({ url: req.url, proto: req.headers['x-forwarded-proto'] });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
  backendUrl = `http://127.0.0.1:${(backend.address() as AddressInfo).port}`;
  // An https target whose certificate no CA vouches for.
  tlsBackend = https.createServer({ key: fs.readFileSync(key), cert: fs.readFileSync(cert) }, (req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`tls target ${req.url}`);
  });
  await new Promise<void>((resolve) => tlsBackend.listen(0, '127.0.0.1', resolve));
  tlsBackendUrl = `https://127.0.0.1:${(tlsBackend.address() as AddressInfo).port}`;
  // An https target that wants a client certificate signed by (here: equal to) its own.
  mtlsBackend = https.createServer({ key: fs.readFileSync(key), cert: fs.readFileSync(cert), ca: fs.readFileSync(cert), requestCert: true, rejectUnauthorized: true }, (req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`mtls target ${req.url}`);
  });
  await new Promise<void>((resolve) => mtlsBackend.listen(0, '127.0.0.1', resolve));
  mtlsBackendUrl = `https://127.0.0.1:${(mtlsBackend.address() as AddressInfo).port}`;
});
after(async () => {
  mtlsBackend.closeAllConnections();
  await new Promise<void>((resolve) => mtlsBackend.close(() => resolve()));
  tlsBackend.closeAllConnections();
  await new Promise<void>((resolve) => tlsBackend.close(() => resolve()));
  backend.closeAllConnections();
  await new Promise<void>((resolve) => backend.close(() => resolve()));
  fs.rmSync(dir, { recursive: true, force: true });
});

for (const kind of ['highrate', 'chp'] as const) {
  describe(`HTTPS on the public port: ${kind === 'chp' ? 'configurable-http-proxy 5.3' : 'highrate proxy'}`, () => {
    test('--ssl-key/--ssl-cert serve HTTPS (X-Forwarded-Proto https); --redirect-port answers 301 to it', async () => {
      const [port, apiPort, redirectPort] = [await freePort(), await freePort(), await freePort()];
      const child = spawn(process.execPath, [BINS[kind], '--ip', '127.0.0.1', '--port', String(port), '--api-ip', '127.0.0.1', '--api-port', String(apiPort),
        '--ssl-key', key, '--ssl-cert', cert, '--redirect-port', String(redirectPort), '--default-target', backendUrl, '--log-level', 'error'],
      { env: { ...process.env, CONFIGPROXY_AUTH_TOKEN: TOKEN }, stdio: 'ignore' });
      const exited = new Promise((resolve) => child.once('exit', resolve));
      try {
        await waitFor(async () => (await call(`http://127.0.0.1:${apiPort}/api/routes`, { headers: { authorization: `token ${TOKEN}` } })).status === 200);
        const ca = fs.readFileSync(cert);
        const res = await callHttps(`https://127.0.0.1:${port}/hub/x?y=1`, ca);
        assert.equal(res.status, 200, res.body);
        assert.deepEqual(JSON.parse(res.body), { url: '/hub/x?y=1', proto: 'https' });
        const redirected = await waitFor(async () => {
          const r = await call(`http://127.0.0.1:${redirectPort}/hub/login?next=%2F`);
          return r.status === 301 ? r : undefined;
        });
        assert.equal(redirected.headers.location, `https://127.0.0.1:${port}/hub/login?next=%2F`);
      } finally {
        child.kill('SIGKILL');
        await exited;
      }
    });
  });
}

for (const kind of ['highrate', 'chp'] as const) {
  describe(`https targets: ${kind === 'chp' ? 'configurable-http-proxy 5.3' : 'highrate proxy'}`, () => {
    for (const insecure of [false, true]) {
      test(insecure ? '--insecure: a self-signed https target is proxied' : 'a self-signed https target is refused (503): certificates are verified', async () => {
        const [port, apiPort] = [await freePort(), await freePort()];
        const child = spawn(process.execPath, [BINS[kind], '--ip', '127.0.0.1', '--port', String(port), '--api-ip', '127.0.0.1', '--api-port', String(apiPort),
          '--default-target', tlsBackendUrl, '--log-level', 'error', ...(insecure ? ['--insecure'] : [])],
        { env: { ...process.env, CONFIGPROXY_AUTH_TOKEN: TOKEN }, stdio: 'ignore' });
        const exited = new Promise((resolve) => child.once('exit', resolve));
        try {
          await waitFor(async () => (await call(`http://127.0.0.1:${apiPort}/api/routes`, { headers: { authorization: `token ${TOKEN}` } })).status === 200);
          const res = await call(`http://127.0.0.1:${port}/a?b=1`, { headers: { accept: 'text/html' } });
          // A known difference: CHP 5.3 documents --insecure as "Disable SSL cert verification", but
          // its per-target options set `secure: true` for every https target, overriding the flag,
          // so CHP still refuses the target. highrate does what the flag says.
          if (insecure && kind === 'highrate') assert.deepEqual([res.status, res.body], [200, 'tls target /a?b=1']);
          else assert.equal(res.status, 503);
        } finally {
          child.kill('SIGKILL');
          await exited;
        }
      });
    }
  });
}

for (const kind of ['highrate', 'chp'] as const) {
  describe(`client certificates to https targets: ${kind === 'chp' ? 'configurable-http-proxy 5.3' : 'highrate proxy'}`, () => {
    for (const withCert of [true, false]) {
      test(withCert ? '--client-ssl-key/-cert/-ca: the target gets the certificate and is verified with the CA' : 'only --client-ssl-ca: a target that wants a client certificate refuses (503)', async () => {
        const [port, apiPort] = [await freePort(), await freePort()];
        const tlsFlags = withCert ? ['--client-ssl-key', key, '--client-ssl-cert', cert, '--client-ssl-ca', cert] : ['--client-ssl-ca', cert];
        const child = spawn(process.execPath, [BINS[kind], '--ip', '127.0.0.1', '--port', String(port), '--api-ip', '127.0.0.1', '--api-port', String(apiPort),
          '--default-target', mtlsBackendUrl, '--log-level', 'error', ...tlsFlags],
        { env: { ...process.env, CONFIGPROXY_AUTH_TOKEN: TOKEN }, stdio: 'ignore' });
        const exited = new Promise((resolve) => child.once('exit', resolve));
        try {
          await waitFor(async () => (await call(`http://127.0.0.1:${apiPort}/api/routes`, { headers: { authorization: `token ${TOKEN}` } })).status === 200);
          const res = await call(`http://127.0.0.1:${port}/c?d=1`, { headers: { accept: 'text/html' } });
          if (withCert) assert.deepEqual([res.status, res.body], [200, 'mtls target /c?d=1']);
          else assert.equal(res.status, 503);
        } finally {
          child.kill('SIGKILL');
          await exited;
        }
      });
    }
  });
}

for (const kind of ['highrate', 'chp'] as const) {
  describe(`HTTPS on the route API port: ${kind === 'chp' ? 'configurable-http-proxy 5.3' : 'highrate proxy'}`, () => {
    test('--api-ssl-key/--api-ssl-cert: the route API answers over HTTPS only', async () => {
      const [port, apiPort] = [await freePort(), await freePort()];
      const child = spawn(process.execPath, [BINS[kind], '--ip', '127.0.0.1', '--port', String(port), '--api-ip', '127.0.0.1', '--api-port', String(apiPort),
        '--api-ssl-key', key, '--api-ssl-cert', cert, '--log-level', 'error'],
      { env: { ...process.env, CONFIGPROXY_AUTH_TOKEN: TOKEN }, stdio: 'ignore' });
      const exited = new Promise((resolve) => child.once('exit', resolve));
      const ca = fs.readFileSync(cert);
      try {
        const res = await waitFor(async () => {
          const r = await new Promise<Answer>((resolve, reject) => {
            https.get(`https://127.0.0.1:${apiPort}/api/routes`, { ca, agent: false, headers: { authorization: `token ${TOKEN}` } }, (m) => {
              const chunks: Buffer[] = [];
              m.on('data', (c: Buffer) => chunks.push(c));
              m.on('end', () => resolve({ status: m.statusCode ?? 0, headers: m.headers, body: Buffer.concat(chunks).toString('utf8') }));
            }).on('error', reject);
          });
          return r.status === 200 ? r : undefined;
        });
        assert.deepEqual(JSON.parse(res.body), {});
        await assert.rejects(call(`http://127.0.0.1:${apiPort}/api/routes`, { headers: { authorization: `token ${TOKEN}` } }));
      } finally {
        child.kill('SIGKILL');
        await exited;
      }
    });
  });
}

describe('TLS flags refused or incomplete (highrate)', () => {
  test('--redirect-port without certificates, --ssl-key without --ssl-cert, --api-ssl-key: exit 1 naming the flag', () => {
    for (const [argv, message] of [
      [['--redirect-port', '8080'], /certificates not provided/],
      [['--ssl-key', '/tmp/k.pem'], /--ssl-key needs --ssl-cert too/],
      [['--ssl-ca', '/tmp/ca.pem'], /--ssl-ca needs --ssl-key and --ssl-cert/],
      [['--api-ssl-key', '/tmp/k.pem'], /--api-ssl-key needs --api-ssl-cert too/],
      [['--api-ssl-ca', '/tmp/k.pem'], /--api-ssl-ca needs --api-ssl-key and --api-ssl-cert/],
    ] as const) {
      const r = spawnSync(process.execPath, [BINS.highrate, ...argv, '--port', '0'], { encoding: 'utf8', timeout: 10_000 });
      assert.equal(r.status, 1, argv.join(' '));
      assert.match(r.stderr, message);
    }
  });
});
