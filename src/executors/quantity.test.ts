import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { HighrateError } from '../errors/catalogue.js';
import { formatCpu, formatMemory, parseCpu, parseMemory } from './quantity.js';

describe('parseCpu', () => {
  test('cores from whole, decimal and milli quantities', () => {
    assert.equal(parseCpu('1'), 1);
    assert.equal(parseCpu('2'), 2);
    assert.equal(parseCpu('0.5'), 0.5);
    assert.equal(parseCpu('.25'), 0.25);
    assert.equal(parseCpu('500m'), 0.5);
    assert.equal(parseCpu('1500m'), 1.5);
    assert.equal(parseCpu('100m'), 0.1);
    assert.equal(parseCpu(' 3 '), 3);
    assert.equal(parseCpu(4), 4);
    assert.equal(parseCpu('+2'), 2);
    assert.equal(parseCpu('1e3'), 1000);
    assert.equal(parseCpu('0'), 0);
  });

  test('rounds up to millicores like Kubernetes', () => {
    assert.equal(parseCpu('0.0001'), 0.001);
    assert.equal(parseCpu('1500u'), 0.002);
    assert.equal(parseCpu('1.0005'), 1.001);
  });

  test('junk is a BAD_REQUEST naming the field, or the code the caller asks for', () => {
    for (const junk of ['', 'abc', '1 core', '500 m', '1.2.3', '--1', '1x', 'm', '0x10', '1Kb', null, undefined, {}, NaN]) {
      assert.throws(() => parseCpu(junk, { field: 'container "app" limits.cpu' }), (e: unknown) => {
        assert.ok(e instanceof HighrateError, String(e));
        assert.equal(e.code, 'BAD_REQUEST');
        assert.match(e.message, /^Invalid container "app" limits\.cpu quantity .*: /);
        return true;
      }, JSON.stringify(junk));
    }
    assert.throws(() => parseCpu('-1'), { code: 'BAD_REQUEST', message: 'Invalid cpu quantity "-1": must not be negative.' });
    assert.throws(() => parseCpu('lots', { code: 'INVALID_OPTIONS' }), { code: 'INVALID_OPTIONS', status: 400 });
    assert.throws(() => parseCpu('1e100000000'), { code: 'BAD_REQUEST', message: 'Invalid cpu quantity "1e100000000": exponent out of range.' });
  });
});

describe('parseMemory', () => {
  test('bytes from decimal, binary, exponent and plain quantities', () => {
    assert.equal(parseMemory('4G'), 4_000_000_000);
    assert.equal(parseMemory('4Gi'), 4 * 1024 ** 3);
    assert.equal(parseMemory('512Mi'), 512 * 1024 ** 2);
    assert.equal(parseMemory('1e9'), 1_000_000_000);
    assert.equal(parseMemory('1E9'), 1_000_000_000);
    assert.equal(parseMemory('1073741824'), 1073741824);
    assert.equal(parseMemory('128974848'), 128974848);
    assert.equal(parseMemory('129e6'), 129_000_000);
    assert.equal(parseMemory('129M'), 129_000_000);
    assert.equal(parseMemory('123Mi'), 128974848);
    assert.equal(parseMemory('1k'), 1000);
    assert.equal(parseMemory('1Ki'), 1024);
    assert.equal(parseMemory('1.5Gi'), 1610612736);
    assert.equal(parseMemory('1T'), 1e12);
    assert.equal(parseMemory('2Ti'), 2 * 1024 ** 4);
  });

  test('exact decimal arithmetic, rounded up to a whole byte', () => {
    assert.equal(parseMemory('0.1G'), 100_000_000);
    assert.equal(parseMemory('0.3G'), 300_000_000);
    assert.equal(parseMemory('1.1Gi'), 1181116007); // 1181116006.4 rounded up
    assert.equal(parseMemory('0.5'), 1);
    assert.equal(parseMemory('1500m'), 2);
  });

  test('junk and absurd sizes are refused', () => {
    for (const junk of ['', '4GB', '4 G', 'Gi', '4gi', '4g', 'four', '1e', '1e1.5', '-1Gi', '10Ei', '1e40']) {
      assert.throws(() => parseMemory(junk), { code: 'BAD_REQUEST' }, JSON.stringify(junk));
    }
    assert.throws(() => parseMemory('4GB', { code: 'INVALID_OPTIONS', field: 'memory' }), {
      code: 'INVALID_OPTIONS',
      message: 'Invalid memory quantity "4GB": expected a size like "512Mi", "4G", "4Gi" or "1073741824".',
    });
  });
});

describe('format', () => {
  test('cpu', () => {
    assert.equal(formatCpu(2), '2');
    assert.equal(formatCpu(0.5), '500m');
    assert.equal(formatCpu(1.5), '1500m');
    assert.equal(formatCpu(0.0001), '1m');
  });

  test('memory uses the largest exact binary suffix', () => {
    assert.equal(formatMemory(24 * 1024 ** 3), '24Gi');
    assert.equal(formatMemory(1536 * 1024 ** 2), '1536Mi');
    assert.equal(formatMemory(25276502016), '24684084Ki');
    assert.equal(formatMemory(1000), '1000');
    for (const b of [1, 1000, 1024, 4e9, 25276502016]) assert.equal(parseMemory(formatMemory(b)), b);
  });
});
