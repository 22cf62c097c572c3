import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { fail } from '../errors/catalogue.js';

/** A cluster's TLS pair, PEM. */
export interface ClusterCredentials { cert: string; key: string }

const KEY_BLOCK = /-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----\n?/;
const CERT_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/;

/**
 * One self-signed pair per cluster, as dask-gateway makes (its tls.py: CN `dask-internal`, SANs
 * the cluster name and `dask-internal`), used as CA, certificate and key by the scheduler, its
 * workers and its clients: only holders of this pair can complete a handshake with the scheduler.
 * ECDSA P-256 instead of RSA-2048: generation takes ~20 ms instead of ~200 ms, which is on the
 * path of every cluster start. Made with the `openssl` CLI because node:crypto cannot issue
 * certificates. Valid for `days` (the cluster's maximum lifetime plus a margin).
 */
export function generateCredentials(cluster: string, days = 365): Promise<ClusterCredentials> {
  const args = [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', '-', '-out', '-', '-days', String(Math.max(1, Math.ceil(days))),
    '-subj', '/CN=dask-internal',
    '-addext', `subjectAltName=DNS:dask-internal,DNS:${cluster},DNS:daskgateway-${cluster}`,
  ];
  return new Promise((resolve, reject) => {
    execFile('openssl', args, { encoding: 'utf8', timeout: 30_000, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) {
        reject(fail('INTERNAL', 'Could not create the cluster\'s TLS credentials.', { detail: `openssl: ${String(err)} ${stderr}`.trim() }));
        return;
      }
      const key = KEY_BLOCK.exec(stdout)?.[0];
      const cert = CERT_BLOCK.exec(stdout)?.[0];
      if (!key || !cert) {
        reject(fail('INTERNAL', 'Could not create the cluster\'s TLS credentials.', { detail: 'openssl printed no key or certificate' }));
        return;
      }
      resolve({ cert: cert.endsWith('\n') ? cert : cert + '\n', key: key.endsWith('\n') ? key : key + '\n' });
    });
  });
}

/** The certificate's expiry as an ISO time (for diagnostics and tests). */
export function certificateExpiry(cert: string): string {
  return new Date(new X509Certificate(cert).validTo).toISOString();
}
