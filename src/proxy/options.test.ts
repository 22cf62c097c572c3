import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { HighrateError } from '../errors/catalogue.js';
import { checkProxyOptions, parseProxyArgs, readAuthTokenFile, RefusedFlag } from './options.js';

const configInvalid = (e: unknown) => e instanceof HighrateError && e.code === 'CONFIG_INVALID';

describe('parseProxyArgs', () => {
  test('reads CHP-style flags and the token from CONFIGPROXY_AUTH_TOKEN', () => {
    const cmd = parseProxyArgs(
      ['--port', '8000', '--ip', '127.0.0.1', '--api-port', '8001', '--api-ip', '127.0.0.1', '--default-target', 'http://127.0.0.1:8081',
        '--authorize-url', 'http://127.0.0.1:8081/hub/api/proxy/authorize', '--pid-file', '/tmp/p.pid', '--log-level', 'warn'],
      { CONFIGPROXY_AUTH_TOKEN: 'sekret' },
    );
    assert.deepEqual(cmd, {
      help: false,
      version: false,
      authTokenFile: undefined,
      pidFile: '/tmp/p.pid',
      logLevel: 'warn',
      options: {
        port: 8000,
        ip: '127.0.0.1',
        apiPort: 8001,
        apiIp: '127.0.0.1',
        defaultTarget: 'http://127.0.0.1:8081',
        authorizeUrl: 'http://127.0.0.1:8081/hub/api/proxy/authorize',
        loginUrl: undefined,
        allowOrigins: undefined,
        authToken: 'sekret',
        daskPort: undefined,
        daskIp: undefined,
        // CHP's forwarding options, at CHP's defaults.
        socket: undefined,
        apiSocket: undefined,
        tls: undefined,
        redirectPort: undefined,
        redirectTo: undefined,
        errorTarget: undefined,
        errorPath: undefined,
        xForward: true,
        prependPath: true,
        includePrefix: true,
        customHeaders: [],
        hostRouting: false,
        changeOrigin: false,
        insecure: false,
        autoRewrite: false,
        protocolRewrite: undefined,
        apiTls: undefined,
        clientTls: undefined,
        timeoutMs: undefined,
        proxyTimeoutMs: undefined,
        keepAliveTimeoutMs: undefined,
        targetTimeoutMs: undefined,
        connectTimeoutMs: undefined,
        wsPingIntervalMs: undefined,
        metricsPort: undefined,
        metricsIp: undefined,
        metricsSocket: undefined,
        storageBackend: undefined,
      },
    });
  });

  test('--dask-port and --dask-ip (the Dask port; its address defaults to --ip)', () => {
    const cmd = parseProxyArgs(['--ip', '10.0.0.1', '--dask-port', '8786'], {});
    assert.equal(cmd.options.daskPort, 8786);
    assert.equal(checkProxyOptions(cmd.options).daskIp, '10.0.0.1');
    assert.equal(checkProxyOptions(parseProxyArgs(['--dask-port', '0', '--dask-ip', '127.0.0.1'], {}).options).daskIp, '127.0.0.1');
    assert.throws(() => parseProxyArgs(['--dask-port', 'x'], {}), (e: unknown) => e instanceof HighrateError && e.code === 'CONFIG_INVALID');
    assert.throws(() => checkProxyOptions({ daskPort: 70000 }), (e: unknown) => e instanceof HighrateError && e.code === 'CONFIG_INVALID');
  });

  test('--allow-origin is repeatable and kept in order', () => {
    const cmd = parseProxyArgs(['--allow-origin', 'https://hub.example.org', '--allow-origin', 'http://10.0.0.5:8000'], {});
    assert.deepEqual(cmd.options.allowOrigins, ['https://hub.example.org', 'http://10.0.0.5:8000']);
    assert.deepEqual(checkProxyOptions(cmd.options).allowOrigins, ['https://hub.example.org:443', 'http://10.0.0.5:8000']);
    assert.throws(() => checkProxyOptions({ allowOrigins: ['hub.example.org'] }), {
      code: 'CONFIG_INVALID',
      message: '--allow-origin (allowOrigins): not a URL: hub.example.org; give an origin such as https://hub.example.org.',
    });
  });

  test('--auth-token-file: the token is not taken from CONFIGPROXY_AUTH_TOKEN', () => {
    const cmd = parseProxyArgs(['--auth-token-file', '/run/secrets/proxy-token'], { CONFIGPROXY_AUTH_TOKEN: 'from-env' });
    assert.equal(cmd.authTokenFile, '/run/secrets/proxy-token');
    assert.equal(cmd.options.authToken, undefined);
    assert.throws(() => parseProxyArgs(['--auth-token-file', ''], {}), configInvalid);
  });

  test('--help, and --ip * meaning all interfaces (as CHP)', () => {
    assert.equal(parseProxyArgs(['-h'], {}).help, true);
    assert.equal(parseProxyArgs(['--ip', '*'], {}).options.ip, undefined);
  });

  test('CHP flags: forwarding switches, custom headers, timeouts; log level in any case', () => {
    const o = parseProxyArgs(['--no-x-forward', '--no-prepend-path', '--no-include-prefix', '--host-routing', '--change-origin',
      '--custom-header', ' X-A : 1 ', '--custom-header', 'X-B:two: parts', '--timeout', '100', '--proxy-timeout', '0', '--keep-alive-timeout', '7000',
      '--log-level', 'DEBUG'], {});
    assert.equal(o.logLevel, 'debug');
    const checked = checkProxyOptions(o.options);
    assert.deepEqual([checked.xForward, checked.prependPath, checked.includePrefix, checked.hostRouting, checked.changeOrigin], [false, false, false, true, true]);
    assert.deepEqual(checked.customHeaders, [['X-A', '1'], ['X-B', 'two: parts']]);
    assert.deepEqual([checked.timeoutMs, checked.proxyTimeoutMs, checked.keepAliveTimeoutMs], [100, undefined, 7000]);
  });

  test('CHP flags that cannot be honoured are RefusedFlag naming the flag', () => {
    for (const [argv, message] of [
      [['--custom-header', 'nocolon'], 'A colon was expected in --custom-header: nocolon'],
      [['--custom-header', 'Bad Name: x'], '"Bad Name" is not a valid header name'],
      [['--metrics-socket', '/tmp/m.sock', '--metrics-ip', '127.0.0.1'], '--metrics-socket cannot be used with --metrics-ip'],
      [['--redirect-port', '80'], 'certificates not provided'],
      [['--api-socket', '/tmp/a.sock', '--api-port', '1'], '--api-socket cannot be used with --api-port'],
      [['--error-target', 'http://e', '--error-path', '/tmp'], 'Cannot specify both --error-target and --error-path'],
    ] as const) {
      assert.throws(() => parseProxyArgs([...argv], {}), (e: unknown) => e instanceof RefusedFlag && e.message.includes(message), argv.join(' '));
    }
  });

  test('unknown flags and bad values are CONFIG_INVALID', () => {
    for (const argv of [['--bogus'], ['--port', 'eighty'], ['--log-level', 'loud'], ['positional'], ['--timeout', '1s']]) {
      assert.throws(() => parseProxyArgs(argv, {}), (e: unknown) => e instanceof HighrateError && e.code === 'CONFIG_INVALID', argv.join(' '));
    }
  });
});

describe('checkProxyOptions', () => {
  test('defaults follow CHP: port 8000, API on port+1 at 127.0.0.1', () => {
    const o = checkProxyOptions({});
    assert.equal(o.port, 8000);
    assert.equal(o.apiPort, 8001);
    assert.equal(o.apiIp, '127.0.0.1');
    assert.equal(o.loginUrl, '/hub/login');
    assert.equal(o.authToken, '');
    assert.deepEqual(o.allowOrigins, []);
    assert.equal(checkProxyOptions({ port: 0 }).apiPort, 0);
    assert.ok(Object.isFrozen(o));
  });

  test('refuses ports, targets and login URLs that cannot work', () => {
    for (const bad of [{ port: 70000 }, { apiPort: -1 }, { port: 1.5 }, { defaultTarget: 'nope' }, { authorizeUrl: 'ftp://x/' }, { loginUrl: 'http://evil/' },
      { allowOrigins: ['hub.example.org'] }, { allowOrigins: ['https://hub.example.org/hub/'] }, { allowOrigins: ['null'] }]) {
      assert.throws(() => checkProxyOptions(bad), (e: unknown) => e instanceof HighrateError && e.code === 'CONFIG_INVALID', JSON.stringify(bad));
    }
  });
});

describe('readAuthTokenFile', () => {
  test('reads the token, trimmed; a missing or empty file is CONFIG_INVALID naming the file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'highrate-token-'));
    try {
      const file = path.join(dir, 'proxy-token');
      fs.writeFileSync(file, '  s3cret\n', { mode: 0o600 });
      assert.equal(readAuthTokenFile(file), 's3cret');
      const missing = path.join(dir, 'missing');
      assert.throws(() => readAuthTokenFile(missing), { code: 'CONFIG_INVALID', message: `Cannot read the route API token from --auth-token-file ${missing}: no such file.` });
      assert.throws(() => readAuthTokenFile(dir), { code: 'CONFIG_INVALID', message: `Cannot read the route API token from --auth-token-file ${dir}: it is a directory.` });
      fs.writeFileSync(file, ' \n');
      assert.throws(() => readAuthTokenFile(file), { code: 'CONFIG_INVALID', message: `The --auth-token-file ${file} is empty; it must hold the route API token.` });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
