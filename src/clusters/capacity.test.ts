import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clusterCapacityWarnings } from './capacity.js';
import { serverCapacityWarnings } from '../hub/servers/capacity.js';
import type { ClusterSpec } from './options.js';

const spec: ClusterSpec = {
  workerCores: 1, workerMemory: '1G', workerMemoryBytes: 1e9, image: null, workerExecutor: 'local',
  schedulerExecutor: 'local', schedulerCores: 1, schedulerMemory: '2G', schedulerMemoryBytes: 2e9, maxWorkers: 10,
};

test('10 one-core workers on a 2-core executor: warned, naming both numbers', () => {
  assert.deepEqual(clusterCapacityWarnings(spec, 10, { cores: 2, memoryBytes: 64 * 2 ** 30 }), [
    '10 workers × 1 core need 10 cores, but executor local reports 2 cores: workers that do not fit wait or share cores.',
  ]);
});

test('memory beyond the reported memory is warned about too', () => {
  assert.deepEqual(clusterCapacityWarnings({ ...spec, workerCores: 2 }, 4, { cores: 8, memoryBytes: 2 * 2 ** 30 }), [
    '4 workers × 2 cores need 3.7 GiB of memory, but executor local reports 2 GiB.',
  ]);
});

test('what fits, no workers, or unknown capacity: no warning', () => {
  assert.deepEqual(clusterCapacityWarnings(spec, 2, { cores: 2, memoryBytes: 4 * 2 ** 30 }), []);
  assert.deepEqual(clusterCapacityWarnings(spec, 0, { cores: 0, memoryBytes: 0 }), []);
  assert.deepEqual(clusterCapacityWarnings(spec, 10, null), []);
  assert.deepEqual(clusterCapacityWarnings(spec, 10, { cores: null, memoryBytes: null }), []);
});

test('a server asking more cores or memory than its executor reports is warned about', () => {
  assert.deepEqual(serverCapacityWarnings({ cores: 4, memoryBytes: 8 * 2 ** 30, executor: 'local' }, { cores: 2, memoryBytes: 4 * 2 ** 30 }), [
    'The server asks for 4 cores, but executor local reports 2 cores: it may wait or share cores.',
    'The server asks for 8 GiB of memory, but executor local reports 4 GiB.',
  ]);
  assert.deepEqual(serverCapacityWarnings({ cores: 1, memoryBytes: 2e9, executor: 'local' }, { cores: 2, memoryBytes: 4 * 2 ** 30 }), []);
  assert.deepEqual(serverCapacityWarnings({ cores: 64, memoryBytes: null, executor: 'slurm' }, null), []);
});
