import assert from 'node:assert/strict';
import { test } from 'node:test';
import { proxyEnvironment } from './proxy-process.js';

test('the proxy inherits only its variables: no secret of the hub, the token only when it has no file', () => {
  const parent = {
    PATH: '/usr/bin', HOME: '/root', LANG: 'C.UTF-8', NODE_EXTRA_CA_CERTS: '/etc/site-ca.pem', MALLOC_ARENA_MAX: '2',
    HIGHRATE_ADMIN_PASSWORD: 'hunter22', AWS_SECRET_ACCESS_KEY: 'x', NODE_OPTIONS: '--inspect', HIGHRATE_LOG_LEVEL: 'warn',
  };
  assert.deepEqual(proxyEnvironment(parent), {
    PATH: '/usr/bin', HOME: '/root', LANG: 'C.UTF-8', NODE_EXTRA_CA_CERTS: '/etc/site-ca.pem', MALLOC_ARENA_MAX: '2',
    HIGHRATE_LOG_LEVEL: 'warn', HIGHRATE_COMPONENT: 'proxy',
  });
  assert.equal(proxyEnvironment(parent, 'route-api-token').CONFIGPROXY_AUTH_TOKEN, 'route-api-token');
});
