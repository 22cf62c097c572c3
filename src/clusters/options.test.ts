import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig } from '../config/load.js';
import { optionFields, resolveOptions } from './options.js';
import { parsePrometheus } from './prometheus.js';

const config = validateConfig({
  executors: [{ name: 'local', kind: 'local' }, { name: 'hpc', kind: 'local' }],
  clusters: { options: { workerExecutors: ['hpc', 'local'], images: { choices: ['a:1', 'b:2'] }, workerMemory: { choices: ['2G', '8G'], default: '8G' } } },
}).clusters;

test('options are dask-gateway fields with the configured choices', () => {
  assert.deepEqual(optionFields(config), [
    { field: 'worker_cores', label: 'Worker cores', default: 1, spec: { type: 'int', min: 1, max: 4 } },
    { field: 'worker_memory', label: 'Worker memory', default: '8G', spec: { type: 'select', options: ['2G', '8G'] } },
    { field: 'worker_executor', label: 'Run workers on', default: 'hpc', spec: { type: 'select', options: ['hpc', 'local'] } },
    { field: 'max_workers', label: 'Maximum workers', default: 10, spec: { type: 'int', min: 0, max: 50 } },
    { field: 'image', label: 'Worker image', default: 'a:1', spec: { type: 'select', options: ['a:1', 'b:2'] } },
  ]);
});

test('{} and null take the defaults; values resolve to a spec', () => {
  const r = resolveOptions({}, config);
  assert.deepEqual(r.options, { worker_cores: 1, worker_memory: '8G', worker_executor: 'hpc', max_workers: 10, image: 'a:1' });
  assert.equal(r.spec.workerMemoryBytes, 8e9);
  assert.equal(r.spec.schedulerExecutor, 'local');
  assert.deepEqual(resolveOptions(null, config).options, r.options);
  const s = resolveOptions({ worker_cores: 2, worker_memory: null, worker_executor: 'local', image: 'b:2' }, config).spec;
  assert.deepEqual([s.workerCores, s.workerMemory, s.workerExecutor, s.image], [2, '8G', 'local', 'b:2']);
});

test('bad options are 422 naming the field', () => {
  const bad = (o: unknown) => { try { resolveOptions(o, config); return null; } catch (e) { return [(e as { status: number }).status, (e as Error).message]; } };
  assert.deepEqual(bad({ worker_cores: 1.5 }), [422, 'worker_cores must be an integer, got 1.5.']);
  assert.deepEqual(bad({ worker_memory: '3G' }), [422, 'worker_memory must be one of "2G", "8G", got "3G".']);
  assert.deepEqual(bad({ worker_executor: 'elsewhere' }), [422, 'worker_executor must be one of "hpc", "local", got "elsewhere".']);
  assert.deepEqual(bad({ a: 1, b: 2 }), [422, 'Unknown cluster options: "a", "b" (known: worker_cores, worker_memory, worker_executor, max_workers, image).']);
  assert.deepEqual(bad([1]), [422, 'cluster_options must be an object of option values.']);
});

test('the config check names bad cluster settings', () => {
  assert.throws(() => validateConfig({ clusters: { schedulerExecutor: 'nope', options: { workerExecutors: ['gone'], workerCores: { min: 2, max: 1 } } } }), (e: Error) => {
    assert.match(e.message, /clusters\.schedulerExecutor: no executor named "nope"/);
    assert.match(e.message, /clusters\.options\.workerExecutors\.0: no executor named "gone"/);
    assert.match(e.message, /clusters\.options\.workerCores: min 2 is above max 1/);
    return true;
  });
});

test('Prometheus text: samples with labels, escapes and special values', () => {
  const text = [
    '# HELP dask_scheduler_tasks Number of tasks known by scheduler',
    '# TYPE dask_scheduler_tasks gauge',
    'dask_scheduler_tasks{state="memory"} 12.0',
    'dask_scheduler_prefix_state_totals_total{task_prefix_name="chunk_histogram",state="waiting"} 40.0',
    'weird{a="x\\"y",b="1\\\\2"} +Inf',
    'dask_scheduler_desired_workers 3',
    'garbage line',
  ].join('\n');
  assert.deepEqual(parsePrometheus(text), [
    { name: 'dask_scheduler_tasks', labels: { state: 'memory' }, value: 12 },
    { name: 'dask_scheduler_prefix_state_totals_total', labels: { task_prefix_name: 'chunk_histogram', state: 'waiting' }, value: 40 },
    { name: 'weird', labels: { a: 'x"y', b: '1\\2' }, value: Infinity },
    { name: 'dask_scheduler_desired_workers', labels: {}, value: 3 },
  ]);
  assert.equal(parsePrometheus(text, 'dask_').length, 3);
});
