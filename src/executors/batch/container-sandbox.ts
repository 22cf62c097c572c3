import { fail } from '../../errors/catalogue.js';
import { requireEnforceable } from '../security.js';
import { hostSandbox, runnerSupport, sourceWord, type HostSandboxOptions, type Sandbox, type SandboxContainer } from '../podscript/sandbox.js';
import { isShellName, shQuote, shWords } from '../podscript/shell.js';

/** Container runtimes a batch job can start each container with. */
export type ContainerRuntime = 'apptainer' | 'singularity' | 'podman';

/** Images without a scheme or absolute path are registry references. */
function imageRef(runtime: ContainerRuntime, image: string): string {
  if (runtime === 'podman' || image.includes('://') || image.startsWith('/')) return image;
  return `docker://${image}`;
}

function checkBindPath(c: SandboxContainer, p: string): void {
  // --bind / -v specs are "src:dst[:opts]" lists separated by commas.
  if (/[:,]/.test(p)) throw fail('BAD_REQUEST', `Container "${c.name}": the path ${JSON.stringify(p)} cannot be bound by a container runtime (":" or "," in it).`);
}

/**
 * Each container in an image, through apptainer/singularity or podman on the batch node, the
 * rest of the pod supervisor unchanged. Environment values never pass through a command line:
 * apptainer reads `APPTAINERENV_<NAME>` (singularity `SINGULARITYENV_<NAME>`) from its
 * environment even with --cleanenv, podman's `--env NAME` copies the value from its own.
 * Volumes are bound at their mountPath (ConfigMaps, Secrets and readOnly mounts read-only).
 *
 * Checked here as generated text only (tests in container-sandbox.test.ts): no runtime and no
 * registry are reachable on the development machine.
 */
export function containerSandbox(runtime: ContainerRuntime, opts: { binary?: string; options?: string[]; runner?: HostSandboxOptions } = {}): Sandbox {
  const bin = opts.binary ?? runtime;
  const extra = opts.options ?? [];
  const host = hostSandbox(opts.runner);
  const runner = runnerSupport(opts.runner ?? {});
  return {
    kind: runtime,
    dirs: [],
    // podman applies its default seccomp profile, --read-only, --cap-drop=all and no-new-privileges
    // (below); apptainer runs images read-only with no capabilities and no_new_privs, but cannot
    // load a seccomp filter unless run as root, and cannot switch users.
    support: runtime === 'podman'
      ? { where: opts.runner?.where ?? `the ${runtime} container runtime`, ...runner, readOnlyRoot: 'always', seccomp: 'always', dropsAllCapabilities: true }
      : { where: opts.runner?.where ?? `the ${runtime} container runtime`, ...runner, ...(runner.users === 'any' ? { users: 0, allowRoot: false } : {}), readOnlyRoot: 'always', seccomp: 'never', dropsAllCapabilities: true },
    files: () => [],
    prelude: () => [],
    containerBody(sc) {
      // planPod hands sandboxes its PlannedContainer, which carries the image.
      const c = sc as SandboxContainer & { image?: string };
      // A container without an image is a host process of the node, as on executors without a runtime.
      if (!c.image) {
        requireEnforceable(c.name, c.security, host.support);
        return host.containerBody(c);
      }
      const names = [...c.env.keys()].filter(isShellName);
      const odd = [...c.env.keys()].filter((k) => !isShellName(k));
      if (odd.length) throw fail('BAD_REQUEST', `Container "${c.name}": environment variable names ${odd.map((k) => JSON.stringify(k)).join(', ')} cannot be passed by ${runtime}.`);
      const body: string[] = ['unset OLDPWD'];
      const binds: string[] = [];
      for (const m of c.mounts) {
        checkBindPath(c, m.target);
        if (m.source.in === 'host') checkBindPath(c, m.source.path);
        binds.push(`${sourceWord(m.source)}${shQuote(`:${m.target}${m.readOnly ? ':ro' : ''}`)}`);
      }
      if (runtime === 'podman') {
        for (const k of names) body.push(`export ${k}=${shQuote(c.env.get(k)!)}`);
        const words = [shQuote(bin), 'run', '--rm', '--network=host', '--read-only', '--cap-drop=all', '--security-opt=no-new-privileges', ...extra.map(shQuote), ...names.map((k) => `--env ${k}`)];
        if (c.identity) words.push(`--user=${c.identity.uid}:${c.identity.gid}`, ...c.identity.groups.map((g) => `--group-add=${g}`));
        for (const b of binds) words.push('-v', b);
        if (c.workingDir) words.push('-w', shQuote(c.workingDir));
        // A pod's command replaces the image's entrypoint, as on a kubelet.
        if (c.argv.length) words.push(`--entrypoint=${shQuote(c.argv[0]!)}`, shQuote(imageRef(runtime, c.image!)), shWords(c.argv.slice(1)));
        else words.push(shQuote(imageRef(runtime, c.image!)));
        body.push(`exec ${words.filter(Boolean).join(' ')}`);
        return body;
      }
      const prefix = runtime === 'apptainer' ? 'APPTAINERENV_' : 'SINGULARITYENV_';
      for (const k of names) body.push(`export ${prefix}${k}=${shQuote(c.env.get(k)!)}`);
      const words = [shQuote(bin), c.argv.length ? 'exec' : 'run', '--containall', '--no-eval', ...extra.map(shQuote)];
      for (const b of binds) words.push('--bind', b);
      if (c.workingDir) words.push('--pwd', shQuote(c.workingDir));
      words.push(shQuote(imageRef(runtime, c.image!)));
      if (c.argv.length) words.push(shWords(c.argv));
      body.push(`exec ${words.join(' ')}`);
      return body;
    },
    notes: (sc) => ((sc as { image?: string }).image ? [] : host.notes(sc)),
  };
}
