import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatBytes, formatCores, formatDuration, formatMemory, formatState, quantityValue } from './format.js';

describe('formatBytes: binary units, one decimal below 100', () => {
  for (const [bytes, text] of [
    [0, '0 B'], [512, '512 B'], [1023, '1023 B'], [1024, '1 KiB'], [1536, '1.5 KiB'],
    [1_000_000_000, '954 MiB'], [2_000_000_000, '1.9 GiB'], [2 * 2 ** 30, '2 GiB'], [24683756 * 1024, '23.5 GiB'],
    [1024 ** 3 - 1, '1 GiB'], [150 * 2 ** 30, '150 GiB'], [3 * 2 ** 40, '3 TiB'],
  ] as const) {
    test(`${bytes} → ${text}`, () => assert.equal(formatBytes(bytes), text));
  }
  test('nothing to show is a dash', () => {
    assert.equal(formatBytes(null), '—');
    assert.equal(formatBytes(-1), '—');
    assert.equal(formatBytes(Number.NaN), '—');
  });
});

describe('formatMemory: Kubernetes quantities and byte counts', () => {
  for (const [q, text] of [
    ['24683756Ki', '23.5 GiB'], ['2G', '1.9 GiB'], ['2Gi', '2 GiB'], ['512M', '488 MiB'], ['1536Mi', '1.5 GiB'],
    ['1000', '1000 B'], ['4e9', '3.7 GiB'], ['1K', '1000 B'], [2 ** 30, '1 GiB'],
  ] as const) {
    test(`${q} → ${text}`, () => assert.equal(formatMemory(q), text));
  }
  test('text that is no quantity is shown as it is, nothing as a dash', () => {
    assert.equal(formatMemory('lots'), 'lots');
    assert.equal(formatMemory(''), '—');
    assert.equal(formatMemory(undefined), '—');
  });
});

describe('formatCores', () => {
  for (const [q, text] of [[1, '1 core'], [2, '2 cores'], ['1', '1 core'], ['4', '4 cores'], ['1500m', '1.5 cores'], [0.5, '0.5 cores'], [0, '0 cores'], ['250m', '0.25 cores']] as const) {
    test(`${q} → ${text}`, () => assert.equal(formatCores(q), text));
  }
  test('nothing is a dash', () => assert.equal(formatCores(null), '—'));
});

describe('formatDuration: the two largest units', () => {
  for (const [s, text] of [[0, '0 s'], [45, '45 s'], [60, '1 min'], [185, '3 min 5 s'], [3600, '1 h'], [7500, '2 h 5 min'], [7205, '2 h'], [273600, '3 d 4 h'], [86400 * 30, '30 d']] as const) {
    test(`${s} → ${text}`, () => assert.equal(formatDuration(s), text));
  }
});

describe('formatState: one capitalisation', () => {
  test('API spellings read the same', () => {
    assert.equal(formatState('RUNNING'), 'Running');
    assert.equal(formatState('running'), 'Running');
    assert.equal(formatState('Stopped'), 'Stopped');
    assert.equal(formatState(''), '—');
  });
});

test('quantityValue parses as Kubernetes does', () => {
  assert.equal(quantityValue('1500m'), 1.5);
  assert.equal(quantityValue('2Ki'), 2048);
  assert.equal(quantityValue('-1'), null);
  assert.equal(quantityValue('2 GB'), null);
});
