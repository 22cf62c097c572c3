import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { parseCpu, parseMemory } from '../quantity.js';
import type { Executor, Pod, RetrievedPodData } from '../types.js';
import { NAMESPACE, RFC3339, conformancePod, containerOf, readAll, running, shContainer, sleep, terminated, waitForStatus } from './pods.js';
import { securityCase, type SecurityExpectations } from './security.js';

/**
 * The one conformance suite every executor runs (modelled on hono's `runTest({ newRouter, skip })`):
 * black-box behaviour through the Executor interface only, with the vk-test-set's cases in mind
 * (hello world, env, ConfigMap/Secret volumes, shared emptyDir, init containers, failures, limits,
 * logs). Pods run `/bin/sh` scripts so the same pods work as host processes and in busybox.
 *
 * Two hooks reach behind the interface where only the backend can tell:
 * - `observeLimits`: the limits the backend applied to a running pod (cgroup files, sbatch flags).
 *   Required when the executor claims cpuLimits or memoryLimits, so a claim is always checked.
 * - `watchRunning`: captures what of a pod runs on the backend (processes, a job) and returns a
 *   check whether any of it still does; used to prove that delete stops a running pod.
 *
 * Status at scale: `bulkStatus` asks for `bulk.total` pods (default 1,000) in one call, of which
 * `bulk.pods` (default 10) are real and running and the rest unknown UIDs. Executors for which
 * creating a thousand real pods is cheap pass `bulk.pods: 1000`; the others still prove that one
 * call answers a thousand UIDs within `bulk.budgetMs` and returns exactly the real ones.
 *
 * Security (`security`, see security.ts here): the executor says what of a pod's securityContext
 * it enforces; the case runs the hub's restricted context and checks from inside the container
 * what is enforced, and that what is not makes the executor refuse the pod. Without `security`
 * the case is skipped, saying so.
 */

export const CASES = [
  'ping', 'hello', 'env', 'volumes', 'emptyDir', 'initContainers', 'initFailure', 'failure',
  'limits', 'logs', 'follow', 'delete', 'bulkStatus', 'security',
] as const;
export type CaseName = (typeof CASES)[number];

export interface ObservedLimits { cpuCores?: number; memoryBytes?: number }

export interface ConformanceOptions {
  /** Shown in test names, e.g. "local (bwrap)". */
  name: string;
  /** A fresh executor; called once for the suite, closed at the end. */
  newExecutor: () => Promise<Executor>;
  /** Cases this executor cannot pass, each with the reason (shown as the test's skip reason). */
  skip?: Partial<Record<CaseName, string>>;
  /** Multiplies every wait (batch systems queue): default 1. */
  timeoutScale?: number;
  /** Image of the pods' containers (default busybox); executors without images ignore it. */
  image?: string;
  observeLimits?: (executor: Executor, pod: Pod) => Promise<ObservedLimits>;
  watchRunning?: (executor: Executor, pod: Pod) => Promise<() => Promise<boolean>>;
  bulk?: { pods?: number; total?: number; budgetMs?: number };
  /** What it enforces of a pod's securityContext; unset: the `security` case is skipped. */
  security?: SecurityExpectations;
}

const TITLES: Record<CaseName, string> = {
  ping: 'ping reports capacity as Kubernetes quantities',
  hello: 'hello world: create, status before/after, idempotent create, logs',
  env: 'env values (quotes, spaces, $, newlines, $(VAR) references), envFrom with prefixes, valueFrom; args exactly',
  volumes: 'a ConfigMap and a Secret mounted as files at mountPath, read-only',
  emptyDir: 'an emptyDir shared by two containers',
  initContainers: 'init containers run in order before the containers',
  initFailure: 'a failing init container fails the pod: later containers never run',
  failure: 'a failing container is terminated with its exit code',
  limits: 'cpu and memory limits reach the backend',
  logs: 'logs: whole, Tail (lines), Bytes (limit); unknown pod or container is an error',
  follow: 'logs with Follow stream until the container ends; abort stops following',
  delete: 'delete stops a running pod; deleting again or an unknown pod is fine',
  bulkStatus: 'status of 1,000 pods in one call',
  security: 'securityContext: the restricted context enforced as seen from inside (uid/gid, no capabilities, no_new_privs, seccomp, read-only root, own PID namespace, cgroups read-only), or the pod refused; privileged pods refused',
};

const NO_SECURITY = 'the conformance options do not say what of a pod\'s securityContext this executor enforces (security unset)';

/** Registers the conformance tests (node:test) for one executor. */
export function runExecutorConformance(opts: ConformanceOptions): void {
  const scale = opts.timeoutScale ?? 1;
  const image = opts.image ?? 'docker.io/library/busybox:1.36';
  const wait = (s: number) => s * 1000 * scale;
  let ex: Executor;
  const created = new Map<string, Pod>();

  async function create(data: RetrievedPodData) {
    created.set(data.pod.metadata.uid, data.pod);
    return ex.create(data);
  }
  async function remove(pod: Pod) {
    await ex.delete(pod);
    created.delete(pod.metadata.uid);
  }
  async function logs(pod: Pod, container: string, o: Parameters<Executor['logs']>[0]['Opts'] = {}, signal?: AbortSignal) {
    return ex.logs({ Namespace: NAMESPACE, PodUID: pod.metadata.uid, PodName: pod.metadata.name, ContainerName: container, Opts: o }, signal);
  }
  const sh = (name: string, script: string, extra = {}) => shContainer(name, image, script, extra);

  const bodies: Record<CaseName, () => Promise<void>> = {
    async ping() {
      const r = await ex.ping();
      assert.ok(r.resources, 'ping answers resources');
      assert.ok(parseCpu(r.resources.cpu) > 0, `cpu ${r.resources.cpu}`);
      assert.ok(parseMemory(r.resources.memory) > 0, `memory ${r.resources.memory}`);
      assert.match(r.resources.pods ?? '', /^[1-9]\d*$/);
    },

    async hello() {
      const data = conformancePod('hello', { containers: [sh('main', 'echo hello world')] });
      assert.deepEqual(await ex.status([data.pod]), [], 'no status before create');
      const cs = await create(data);
      assert.equal(cs.PodUID, data.pod.metadata.uid);
      assert.ok(typeof cs.PodJID === 'string' && cs.PodJID.length > 0, 'a job id');
      assert.deepEqual(await ex.create(data), cs, 'create is idempotent per UID');
      const st = await waitForStatus(ex, data.pod, 'main to terminate', terminated('main'), wait(20));
      assert.equal(st.name, data.pod.metadata.name);
      assert.equal(st.UID, data.pod.metadata.uid);
      assert.equal(st.namespace, NAMESPACE);
      assert.equal(st.JID, cs.PodJID);
      assert.deepEqual(st.initContainers, []);
      assert.equal(st.containers.length, 1);
      const c = st.containers[0]!;
      assert.equal(c.name, 'main');
      assert.equal(c.restartCount, 0);
      assert.equal(c.ready, false);
      const t = c.state.terminated!;
      assert.equal(t.exitCode, 0);
      assert.equal(t.reason, 'Completed');
      assert.match(t.startedAt ?? '', RFC3339);
      assert.match(t.finishedAt ?? '', RFC3339);
      assert.ok(Date.parse(t.finishedAt!) >= Date.parse(t.startedAt!));
      assert.equal(await readAll(await logs(data.pod, 'main')), 'hello world\n');
      await remove(data.pod);
    },

    async env() {
      const data = conformancePod('env', {
        containers: [
          sh('main', 'printf "%s|" "$PLAIN" "$QUOTES" "$SPACES" "$DOLLAR" "$NEWLINE" "$REF" "$ESCAPED" "$CM_GREETING" "$SEC_TOKEN" "$FROM_CM" "$FROM_SEC" "$POD_NAME"', {
            envFrom: [{ configMapRef: { name: 'conformance-env' }, prefix: 'CM_' }, { secretRef: { name: 'conformance-env' }, prefix: 'SEC_' }],
            env: [
              { name: 'PLAIN', value: 'hello' },
              { name: 'QUOTES', value: `it's "quoted"` },
              { name: 'SPACES', value: '  two  spaces  ' },
              { name: 'DOLLAR', value: '$HOME ${PATH} `id` $(no such var)' },
              { name: 'NEWLINE', value: 'a\nb' },
              { name: 'REF', value: '$(PLAIN) world' },
              { name: 'ESCAPED', value: '$$(PLAIN)' },
              { name: 'FROM_CM', valueFrom: { configMapKeyRef: { name: 'conformance-env', key: 'GREETING' } } },
              { name: 'FROM_SEC', valueFrom: { secretKeyRef: { name: 'conformance-env', key: 'TOKEN' } } },
              { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
            ],
          }),
          { name: 'args', image, command: ['/bin/sh', '-c', 'printf "[%s]" "$@"', 'argv0'], args: ['a b', "c'd", '*', '$HOME', '"q"', ''] },
        ],
      }, {
        configMaps: [{ metadata: { name: 'conformance-env', namespace: NAMESPACE }, data: { GREETING: 'hi there' } }],
        secrets: [{ metadata: { name: 'conformance-env', namespace: NAMESPACE }, type: 'Opaque', data: { TOKEN: Buffer.from('t0k3n$').toString('base64') } }],
      });
      await create(data);
      await waitForStatus(ex, data.pod, 'both containers to terminate', (st) => terminated('main')(st) && terminated('args')(st), wait(20));
      assert.equal(await readAll(await logs(data.pod, 'main')),
        `hello|it's "quoted"|  two  spaces  |$HOME \${PATH} \`id\` $(no such var)|a\nb|hello world|$(PLAIN)|hi there|t0k3n$|hi there|t0k3n$|${data.pod.metadata.name}|`);
      assert.equal(await readAll(await logs(data.pod, 'args')), `[a b][c'd][*][$HOME]["q"][]`);
      await remove(data.pod);
    },

    async volumes() {
      const data = conformancePod('volumes', {
        volumes: [
          { name: 'config', configMap: { name: 'conformance-files', items: [{ key: 'app.conf', path: 'conf/app.conf' }] } },
          { name: 'secret', secret: { secretName: 'conformance-files' } },
        ],
        containers: [sh('main', [
          'cat /etc/highrate-conformance/config/conf/app.conf',
          'cat /var/run/highrate-conformance/secret/password; echo',
          'ls /var/run/highrate-conformance/secret',
          '(echo x > /etc/highrate-conformance/config/new) 2>/dev/null && echo config-writable || echo config-read-only',
          '(echo x > /var/run/highrate-conformance/secret/new) 2>/dev/null && echo secret-writable || echo secret-read-only',
        ].join('; '), {
          volumeMounts: [
            { name: 'config', mountPath: '/etc/highrate-conformance/config' },
            { name: 'secret', mountPath: '/var/run/highrate-conformance/secret', readOnly: true },
          ],
        })],
      }, {
        configMaps: [{ metadata: { name: 'conformance-files' }, data: { 'app.conf': 'key = "value"\nsecond line\n', 'other.conf': 'not selected' } }],
        secrets: [{ metadata: { name: 'conformance-files' }, data: { password: Buffer.from('s3cr3t').toString('base64'), username: Buffer.from('admin').toString('base64') } }],
      });
      await create(data);
      const st = await waitForStatus(ex, data.pod, 'main to terminate', terminated('main'), wait(20));
      const out = await readAll(await logs(data.pod, 'main'));
      assert.equal(out, 'key = "value"\nsecond line\ns3cr3t\npassword\nusername\nconfig-read-only\nsecret-read-only\n');
      assert.equal(st.containers[0]!.state.terminated!.exitCode, 0);
      await remove(data.pod);
    },

    async emptyDir() {
      const data = conformancePod('emptydir', {
        volumes: [{ name: 'shared', emptyDir: {} }],
        containers: [
          sh('writer', 'sleep 0.5; echo from-writer > /data/out/message', { volumeMounts: [{ name: 'shared', mountPath: '/data/out' }] }),
          sh('reader', 'n=0; until [ -s /shared/message ] || [ "$n" -ge 200 ]; do sleep 0.1; n=$((n+1)); done; cat /shared/message',
            { volumeMounts: [{ name: 'shared', mountPath: '/shared' }] }),
        ],
      });
      await create(data);
      await waitForStatus(ex, data.pod, 'both containers to terminate', (st) => terminated('writer')(st) && terminated('reader')(st), wait(30));
      assert.equal(await readAll(await logs(data.pod, 'reader')), 'from-writer\n');
      await remove(data.pod);
    },

    async initContainers() {
      const work = [{ name: 'work', mountPath: '/work' }];
      const data = conformancePod('init', {
        volumes: [{ name: 'work', emptyDir: {} }],
        initContainers: [sh('first', 'sleep 1; echo one > /work/trace', { volumeMounts: work }), sh('second', 'echo two >> /work/trace', { volumeMounts: work })],
        containers: [sh('main', 'cat /work/trace', { volumeMounts: work })],
      });
      await create(data);
      const early = await waitForStatus(ex, data.pod, 'the first init container to run', (s) => running('first')(s) || terminated('first')(s), wait(20));
      if (running('first')(early)) {
        assert.ok(!early.containers[0]!.state.running && !early.containers[0]!.state.terminated, 'main waits while init containers run');
        assert.ok(early.containers[0]!.state.waiting);
      }
      const st = await waitForStatus(ex, data.pod, 'main to terminate', terminated('main'), wait(30));
      assert.equal(await readAll(await logs(data.pod, 'main')), 'one\ntwo\n');
      assert.deepEqual(st.initContainers.map((c) => [c.name, c.state.terminated?.exitCode, c.state.terminated?.reason]), [['first', 0, 'Completed'], ['second', 0, 'Completed']]);
      const [first, second] = st.initContainers.map((c) => c.state.terminated!);
      assert.ok(Date.parse(first!.finishedAt!) <= Date.parse(second!.startedAt!), 'second starts after first ends');
      assert.ok(Date.parse(second!.finishedAt!) <= Date.parse(st.containers[0]!.state.terminated!.startedAt!), 'main starts after init');
      await remove(data.pod);
    },

    async initFailure() {
      const data = conformancePod('initfail', {
        initContainers: [sh('ok', 'true'), sh('bad', 'echo failing; exit 3'), sh('never', 'echo never')],
        containers: [sh('main', 'echo should not run')],
      });
      await create(data);
      const st = await waitForStatus(ex, data.pod, 'the init container "bad" to terminate', terminated('bad'), wait(20));
      const bad = containerOf(st, 'bad')!.state.terminated!;
      assert.equal(bad.exitCode, 3);
      assert.equal(bad.reason, 'Error');
      assert.equal(await readAll(await logs(data.pod, 'bad')), 'failing\n');
      // Settled: nothing after "bad" ever runs. Whether such containers stay waiting or are
      // reported terminated without having started is the executor's choice.
      for (let i = 0; i < 10; i++) {
        const [now] = await ex.status([data.pod]);
        for (const name of ['never', 'main']) {
          const c = containerOf(now!, name)!;
          assert.ok(!c.state.running, `${name} never runs`);
          assert.ok(!c.state.terminated?.startedAt, `${name} never started`);
          if (c.state.terminated) assert.notEqual(c.state.terminated.exitCode, 0, `${name} does not count as succeeded`);
        }
        await sleep(100 * scale);
      }
      assert.equal(await readAll(await logs(data.pod, 'main')), '');
      await remove(data.pod);
    },

    async failure() {
      const data = conformancePod('failure', {
        containers: [sh('main', 'echo about to fail; exit 7'), sh('killed', 'kill -9 $$$$'), sh('fine', 'true')],
      });
      await create(data);
      const st = await waitForStatus(ex, data.pod, 'all containers to terminate', (s) => s.containers.every((c) => c.state.terminated), wait(20));
      assert.deepEqual(st.containers.map((c) => [c.name, c.state.terminated!.exitCode, c.state.terminated!.reason]), [
        ['main', 7, 'Error'], ['killed', 137, 'Error'], ['fine', 0, 'Completed'],
      ]);
      assert.equal(await readAll(await logs(data.pod, 'main')), 'about to fail\n');
      await remove(data.pod);
    },

    async limits() {
      const data = conformancePod('limits', {
        containers: [sh('main', 'echo up; sleep 600', { resources: { limits: { cpu: '500m', memory: '128Mi' }, requests: { cpu: '250m', memory: '64Mi' } } })],
      });
      await create(data);
      await waitForStatus(ex, data.pod, 'main to run', running('main'), wait(20));
      const caps = ex.capabilities;
      if (caps.cpuLimits || caps.memoryLimits) {
        assert.ok(opts.observeLimits, `${opts.name} claims to enforce limits: pass observeLimits so the suite can check`);
      }
      if (opts.observeLimits) {
        const seen = await opts.observeLimits(ex, data.pod);
        if (caps.cpuLimits) assert.equal(seen.cpuCores, 0.5);
        if (caps.memoryLimits) assert.equal(seen.memoryBytes, 128 * 1024 * 1024);
      }
      await remove(data.pod);
    },

    async logs() {
      const data = conformancePod('logs', { containers: [sh('main', 'for i in 1 2 3 4 5; do echo "line $i"; done')] });
      await create(data);
      await waitForStatus(ex, data.pod, 'main to terminate', terminated('main'), wait(20));
      assert.equal(await readAll(await logs(data.pod, 'main')), 'line 1\nline 2\nline 3\nline 4\nline 5\n');
      assert.equal(await readAll(await logs(data.pod, 'main', { Tail: 2 })), 'line 4\nline 5\n');
      assert.equal(await readAll(await logs(data.pod, 'main', { Tail: 10 })), 'line 1\nline 2\nline 3\nline 4\nline 5\n');
      // interLink's Bytes is Kubernetes' limitBytes: at most that many bytes, from the start.
      assert.equal(await readAll(await logs(data.pod, 'main', { Bytes: 10 })), 'line 1\nlin');
      await assert.rejects(async () => readAll(await logs(data.pod, 'nope')), 'unknown container');
      const unknown = { ...data.pod, metadata: { ...data.pod.metadata, uid: randomUUID() } };
      await assert.rejects(async () => readAll(await logs(unknown, 'main')), 'unknown pod');
      await remove(data.pod);
    },

    async follow() {
      const data = conformancePod('follow', { containers: [sh('main', 'echo first; sleep 1; echo second; sleep 1; echo third')] });
      await create(data);
      await waitForStatus(ex, data.pod, 'main to run', (s) => running('main')(s) || terminated('main')(s), wait(20));
      const arrivals: [number, string][] = [];
      const t0 = Date.now();
      for await (const chunk of await logs(data.pod, 'main', { Follow: true })) arrivals.push([Date.now() - t0, chunk.toString('utf8')]);
      assert.equal(arrivals.map(([, s]) => s).join(''), 'first\nsecond\nthird\n');
      const [st] = await ex.status([data.pod]);
      assert.ok(st?.containers[0]?.state.terminated, 'the stream ended because the container did');
      assert.ok(arrivals[0]![0] < arrivals[arrivals.length - 1]![0], 'output arrives as it is written, not at the end');

      const endless = conformancePod('follow-abort', { containers: [sh('main', 'echo tick; sleep 600')] });
      await create(endless);
      await waitForStatus(ex, endless.pod, 'main to run', running('main'), wait(20));
      const ac = new AbortController();
      let got = '';
      const t1 = Date.now();
      const reading = (async () => {
        for await (const chunk of await logs(endless.pod, 'main', { Follow: true }, ac.signal)) {
          got += chunk.toString('utf8');
          if (got.includes('tick')) ac.abort();
        }
      })();
      // Ending quietly and rejecting with an AbortError are both fine; hanging is not.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        reading.catch((e: unknown) => assert.equal((e as Error).name, 'AbortError')),
        new Promise((_, reject) => { timer = setTimeout(() => reject(new Error('following did not stop after abort')), wait(10)); }),
      ]).finally(() => clearTimeout(timer));
      assert.equal(got, 'tick\n');
      assert.ok(Date.now() - t1 < wait(10));
      await remove(endless.pod);
      await remove(data.pod);
    },

    async delete() {
      const data = conformancePod('delete', { containers: [sh('main', 'echo started; sleep 600')] });
      await create(data);
      await waitForStatus(ex, data.pod, 'main to run', running('main'), wait(20));
      const until = Date.now() + wait(10);
      while (!(await readAll(await logs(data.pod, 'main'))).includes('started')) {
        assert.ok(Date.now() < until, 'the container printed "started"');
        await sleep(100);
      }
      const stillRunning = await opts.watchRunning?.(ex, data.pod);
      if (stillRunning) assert.equal(await stillRunning(), true, 'watchRunning sees the pod before delete');
      await ex.delete(data.pod);
      const after = await ex.status([data.pod]);
      assert.ok(after.length === 0 || after[0]!.containers.every((c) => c.state.terminated), `after delete: gone or terminated, got ${JSON.stringify(after)}`);
      if (stillRunning) {
        const deadline = Date.now() + wait(10);
        while (await stillRunning()) {
          assert.ok(Date.now() < deadline, 'the pod still runs on the backend after delete');
          await sleep(100);
        }
      }
      await ex.delete(data.pod); // again: no error
      await ex.delete(conformancePod('unknown', { containers: [sh('main', 'true')] }).pod);
      created.delete(data.pod.metadata.uid);
    },

    async bulkStatus() {
      const real = opts.bulk?.pods ?? 10;
      const total = Math.max(real, opts.bulk?.total ?? 1000);
      const budget = (opts.bulk?.budgetMs ?? 1000) * scale;
      const pods = Array.from({ length: real }, (_, i) => conformancePod(`bulk-${i}`, { containers: [sh('main', 'sleep 600')] }));
      for (let i = 0; i < pods.length; i += 20) await Promise.all(pods.slice(i, i + 20).map(create));
      const realPods = pods.map((p) => p.pod);
      const until = Date.now() + wait(60);
      for (;;) {
        const st = await ex.status(realPods);
        if (st.length === real && st.every((s) => s.containers[0]?.state.running)) break;
        assert.ok(Date.now() < until, `all ${real} pods running; got ${st.filter((s) => s.containers[0]?.state.running).length}`);
        await sleep(200);
      }
      // Real pods spread among unknown ones, as a reconciler's list would be after a restart.
      const all: Pod[] = [];
      const stride = Math.floor(total / real);
      for (let i = 0; i < total; i++) {
        all.push(i % stride === 0 && i / stride < real ? realPods[i / stride]! : conformancePod('unknown', { containers: [sh('main', 'true')] }).pod);
      }
      const t0 = performance.now();
      const st = await ex.status(all);
      const ms = performance.now() - t0;
      assert.equal(st.length, real, 'exactly the known pods are answered');
      assert.deepEqual(new Set(st.map((s) => s.UID)), new Set(realPods.map((p) => p.metadata.uid)));
      assert.ok(st.every((s) => s.containers[0]?.state.running), 'each with its state');
      assert.ok(ms <= budget, `status of ${total} pods (${real} real) took ${ms.toFixed(1)} ms; budget ${budget} ms`);
      for (let i = 0; i < realPods.length; i += 50) await Promise.all(realPods.slice(i, i + 50).map(remove));
    },

    async security() {
      await securityCase({
        ex, expect: opts.security!, create, remove, sh, wait,
        forget: (pod) => created.delete(pod.metadata.uid),
      });
    },
  };

  describe(`executor conformance: ${opts.name}`, () => {
    before(async () => {
      ex = await opts.newExecutor();
    });
    after(async () => {
      if (!ex) return;
      await Promise.all([...created.values()].map((p) => ex.delete(p).catch(() => undefined)));
      await ex.close?.();
    });
    for (const name of CASES) {
      const reason = opts.skip?.[name] ?? (name === 'security' && !opts.security ? NO_SECURITY : undefined);
      test(`${name}: ${TITLES[name]}`, { skip: reason ?? false, timeout: wait(name === 'bulkStatus' ? 240 : 60) }, () => bodies[name]());
    }
  });
}
