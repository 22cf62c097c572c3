import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A fake HTCondor command set (condor_submit, condor_q, condor_history, condor_rm,
 * condor_status) as tiny POSIX sh scripts in a temp dir, for the HTCondor executor's end-to-end
 * tests. It records every invocation in `calls.log` and keeps a toy schedd in files:
 *
 * - condor_submit -terse FILE: copies the description, "transfers" the executable into a scratch
 *   directory and runs it detached in its own session (the job), prints "N.0 - N.0"; with
 *   `+Owner = "NAME"` (root only, never root) it reads the executable, writes the output and runs
 *   the job as that account with its primary group, as a schedd and starter would;
 * - condor_q -json … IDS: the ads of the listed jobs still in the queue (Idle 1, Running 2,
 *   Held 5 when a test writes `held`, Removed 3 while a removed job's processes live); completed
 *   and removed jobs leave the queue, as in HTCondor; `condor_q -totals` prints the totals lines
 *   only; `schedd-down` makes it fail, `schedd-hangs` makes it sleep;
 * - condor_history -json -limit 1 … ID: the ad of a job that left the queue;
 * - condor_rm IDS | -constraint 'highrate_pod_uid == "UID"': SIGTERM then SIGKILL to the job's
 *   process group; unknown ids print "Job N.0 not found" and exit 1;
 * - condor_status -json: two slots of one machine (4 cpus, 8 GiB) and an Owner machine.
 *
 * Attribute names and value types follow the HTCondor manual's job and machine ClassAds; the
 * JSON layout is that of `-json` (a list of ads). The shapes the real tools print are in the
 * fixtures of htcondor.test.ts.
 */

const PROLOGUE = `#!/bin/sh
S='@STATE@'
echo "$(basename "$0") $*" >> "$S/calls.log"
`;

/** The job's state from its files: removed 3, completed 4, held 5, running 2, idle 1. */
const STATE_FN = `
jobstate() {
  if [ -e "$1/removed" ]; then echo 3
  elif [ -e "$1/exit" ]; then echo 4
  elif [ -e "$1/held" ]; then echo 5
  elif [ -e "$1/started" ]; then echo 2
  else echo 1; fi
}
alive() { [ -s "$1/pgid" ] && kill -0 -"$(cat "$1/pgid")" 2>/dev/null; }
ad() {
  id=$1; d=$2; st=$(jobstate "$d")
  printf '{\\n  "ClusterId": %s,\\n  "EnteredCurrentStatus": %s,\\n  "highrate_pod_uid": "%s",\\n  "JobStatus": %s,\\n  "ProcId": %s' \\
    "$(echo "$id" | cut -d. -f1)" "$(cat "$d/changed")" "$(cat "$d/uid")" "$st" "$(echo "$id" | cut -d. -f2)"
  if [ -e "$d/started" ]; then
    printf ',\\n  "JobCurrentStartDate": %s,\\n  "JobStartDate": %s' "$(cat "$d/started")" "$(cat "$d/started")"
    if [ "$st" = 2 ]; then printf ',\\n  "RemoteHost": "slot1_1@fake-node.example.org"'; else printf ',\\n  "LastRemoteHost": "slot1_1@fake-node.example.org"'; fi
  fi
  if [ "$st" = 4 ]; then
    printf ',\\n  "CompletionDate": %s,\\n  "ExitBySignal": false,\\n  "ExitCode": %s' "$(cat "$d/completed")" "$(cat "$d/exit")"
  fi
  if [ "$st" = 3 ]; then printf ',\\n  "CompletionDate": 0'; fi
  if [ "$st" = 5 ]; then printf ',\\n  "HoldReason": "%s",\\n  "HoldReasonCode": 26' "$(cat "$d/held")"; fi
  printf '\\n}'
}
`;

const SCRIPTS: Record<string, string> = {
  condor_submit: `${PROLOGUE}
for a; do f=$a; done
[ -r "$f" ] || { echo "ERROR: Can't open \\"$f\\"" >&2; exit 1; }
grep -q '^queue 1$' "$f" || { echo "ERROR: no queue command" >&2; exit 1; }
# One id per submission, also when several run at once.
exec 9> "$S/submit.lock"; flock 9
n=$(cat "$S/next" 2>/dev/null || echo 100); echo $((n + 1)) > "$S/next"
exec 9>&-
id="$n.0"; d="$S/jobs/$id"
mkdir -p "$d/scratch"
cp "$f" "$S/submit.$id"
sed -n 's/^+highrate_pod_uid = "\\(.*\\)"$/\\1/p' "$f" > "$d/uid"
exe=$(sed -n 's/^executable = //p' "$f")
out=$(sed -n 's/^output = //p' "$f")
err=$(sed -n 's/^error = //p' "$f")
# +Owner: only a queue super user (root) may set it, never to root; the job then runs as that
# account with its primary group (the starter's initgroups). The executable is read as the owner.
owner=$(sed -n 's/^+Owner = "\\(.*\\)"$/\\1/p' "$f")
if [ -n "$owner" ]; then
  [ "$(id -u)" = 0 ] || { echo "ERROR: Failed to set Owner=\\"$owner\\" for job $id (13)" >&2; exit 1; }
  [ "$owner" != root ] && id -u "$owner" > /dev/null 2>&1 || { echo "ERROR: Failed to set Owner=\\"$owner\\" for job $id (13)" >&2; exit 1; }
  echo "$owner" > "$d/owner"
  setpriv --reuid="$owner" --regid="$(id -g "$owner")" --init-groups cat "$exe" > "$d/scratch/condor_exec.exe" || { echo "ERROR: failed to transfer executable $exe" >&2; exit 1; }
  chown -R "$owner:$(id -g "$owner")" "$d/scratch"
else
  cp "$exe" "$d/scratch/condor_exec.exe" || exit 1
fi
date +%s > "$d/changed"
# The "starter": the job in its own session, so condor_rm can signal its process group.
# Files are replaced atomically (tmp + mv): condor_q may read them at any moment.
setsid sh -c 'd=$1; put() { echo "$2" > "$d/$1.tmp" && mv "$d/$1.tmp" "$d/$1"; }
  cd "$d/scratch"; put pgid $$; now=$(date +%s); put changed $now; put started $now
  if [ -n "$4" ]; then
    setpriv --reuid="$4" --regid="$(id -g "$4")" --init-groups sh -c '"'"'sh ./condor_exec.exe > "$1" 2> "$2"'"'"' job "$2" "$3"; rc=$?
  else
    sh ./condor_exec.exe > "$2" 2> "$3"; rc=$?
  fi
  now=$(date +%s); put completed $now; put changed $now; put exit $rc' fake-starter "$d" "$out" "$err" "$owner" < /dev/null > /dev/null 2>&1 &
echo "$id - $id"
`,
  condor_q: `${PROLOGUE}${STATE_FN}
[ -e "$S/schedd-hangs" ] && exec sleep 60
[ -e "$S/schedd-down" ] && { echo "-- Failed to fetch ads from: <127.0.0.1:9618> : fake-schedd" >&2; echo "CEDAR:6001:Failed to connect to <127.0.0.1:9618>" >&2; exit 1; }
case " $* " in *" -totals "*)
  n=0; for d in "$S"/jobs/*; do [ -d "$d" ] && [ "$(jobstate "$d")" != 4 ] && n=$((n + 1)); done
  printf '\n\n-- Schedd: fake-schedd : <127.0.0.1:9618?addrs=127.0.0.1-9618> @ 12/04/26 16:00:00\n'
  printf 'Total for query: %s jobs; 0 completed, 0 removed, 0 idle, %s running, 0 held, 0 suspended\n' "$n" "$n"
  printf 'Total for all users: %s jobs; 0 completed, 0 removed, 0 idle, %s running, 0 held, 0 suspended\n\n' "$n" "$n"
  exit 0 ;;
esac
first=1; any=0
for a; do
  case "$a" in [0-9]*.[0-9]*) ;; *) continue ;; esac
  d="$S/jobs/$a"; [ -d "$d" ] || continue
  st=$(jobstate "$d")
  [ "$st" = 4 ] && continue
  if [ "$st" = 3 ] && ! alive "$d"; then continue; fi
  if [ $first = 1 ]; then printf '[\\n'; first=0; else printf '\\n,\\n'; fi
  ad "$a" "$d"; any=1
done
[ $any = 1 ] && printf '\\n]\\n'
exit 0
`,
  condor_history: `${PROLOGUE}${STATE_FN}
for a; do id=$a; done
d="$S/jobs/$id"
[ -d "$d" ] || exit 0
st=$(jobstate "$d")
case "$st" in 3|4) printf '[\\n'; ad "$id" "$d"; printf '\\n]\\n' ;; esac
exit 0
`,
  condor_rm: `${PROLOGUE}
rc=0
kill_job() {
  d=$1
  now=$(date +%s); echo $now > "$d/changed.tmp"; mv "$d/changed.tmp" "$d/changed"; echo $now > "$d/removed"
  if [ -s "$d/pgid" ]; then
    g=$(cat "$d/pgid"); kill -TERM -"$g" 2>/dev/null
    ( sleep 1; kill -KILL -"$g" 2>/dev/null ) < /dev/null > /dev/null 2>&1 &
  fi
}
ids=; constraint=
while [ $# -gt 0 ]; do
  case "$1" in
    -name|-pool) shift ;;
    -constraint) shift; constraint=$1 ;;
    *) ids="$ids $1" ;;
  esac
  shift
done
if [ -n "$constraint" ]; then
  uid=$(echo "$constraint" | sed -n 's/^highrate_pod_uid == "\\(.*\\)"$/\\1/p')
  for d in "$S"/jobs/*; do [ -d "$d" ] && [ "$(cat "$d/uid")" = "$uid" ] && kill_job "$d" && echo "Job $(basename "$d") marked for removal"; done
  exit 0
fi
for id in $ids; do
  d="$S/jobs/$id"
  if [ -d "$d" ] && [ ! -e "$d/exit" ] && [ ! -e "$d/removed" ]; then kill_job "$d"; echo "Job $id marked for removal"
  else echo "Job $id not found" >&2; rc=1; fi
done
exit $rc
`,
  condor_status: `${PROLOGUE}
cat <<'EOF'
[
{
  "Machine": "fake-node.example.org",
  "State": "Unclaimed",
  "TotalCpus": 4.0,
  "TotalMemory": 8192
}
,
{
  "Machine": "fake-node.example.org",
  "State": "Claimed",
  "TotalCpus": 4.0,
  "TotalMemory": 8192
}
,
{
  "Machine": "desktop.example.org",
  "State": "Owner",
  "TotalCpus": 8.0,
  "TotalMemory": 16384
}
]
EOF
`,
};

/** The fake's files, for assertions. */
export class FakeCondor {
  constructor(readonly binDir: string, readonly stateDir: string) {}

  /** Invocations so far, one line each: "condor_q -json …". */
  calls(): string[] {
    try {
      return readFileSync(join(this.stateDir, 'calls.log'), 'utf8').split('\n').filter(Boolean);
    } catch {
      return [];
    }
  }

  /** The submit description condor_submit got for job `id`. */
  submitted(id: string): string {
    return readFileSync(join(this.stateDir, `submit.${id}`), 'utf8');
  }

  /** The Owner the job was submitted for, if any. */
  owner(id: string): string | undefined {
    try {
      return readFileSync(join(this.stateDir, 'jobs', id, 'owner'), 'utf8').trim();
    } catch {
      return undefined;
    }
  }

  /** The job's process group (its session leader's pid), once it started. */
  pgid(id: string): number | undefined {
    try {
      return Number(readFileSync(join(this.stateDir, 'jobs', id, 'pgid'), 'utf8').trim()) || undefined;
    } catch {
      return undefined;
    }
  }

  /** Puts a queued or running job on hold (as the schedd would on a policy violation). */
  hold(id: string, reason: string): void {
    writeFileSync(join(this.stateDir, 'jobs', id, 'held'), reason);
  }

  /** Makes condor_q fail as with an unreachable schedd, or answer again. */
  scheddDown(down: boolean): void {
    const f = join(this.stateDir, 'schedd-down');
    if (down) writeFileSync(f, '');
    else rmSync(f, { force: true });
  }

  /** condor_q accepts and never answers (a schedd host that black-holes its port). */
  scheddHangs(hangs: boolean): void {
    const f = join(this.stateDir, 'schedd-hangs');
    if (hangs) writeFileSync(f, '');
    else rmSync(f, { force: true });
  }

  /** Kills every job the fake ever started (the tests' safety net: nothing outlives them). */
  killAll(): void {
    for (const id of this.jobs()) {
      const g = this.pgid(id);
      if (!g) continue;
      try { process.kill(-g, 'SIGKILL'); } catch { /* gone */ }
    }
  }

  /** Job ids submitted so far. */
  jobs(): string[] {
    try {
      return readdirSync(join(this.stateDir, 'jobs'));
    } catch {
      return [];
    }
  }
}

/** Writes the fake commands into `<dir>/bin` with their state in `<dir>/state`. */
export function installFakeCondor(dir: string): FakeCondor {
  const bin = join(dir, 'bin');
  const state = join(dir, 'state');
  mkdirSync(bin, { recursive: true });
  mkdirSync(join(state, 'jobs'), { recursive: true });
  for (const [name, text] of Object.entries(SCRIPTS)) {
    const f = join(bin, name);
    writeFileSync(f, text.replace('@STATE@', state));
    chmodSync(f, 0o755);
  }
  return new FakeCondor(bin, state);
}
