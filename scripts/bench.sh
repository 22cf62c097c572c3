#!/usr/bin/env bash
# All benchmarks, side by side in one run. Prints Markdown tables; JSON results go to bench-results/.
# Usage: npm run bench [-- --only proxy|hub|store|executor|isolation|singleuser-spawn|slurm|clusters|security]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
mkdir -p bench-results
only="${2:-}"
[ "${1:-}" = "--only" ] || only=""
for b in proxy executor isolation singleuser-spawn slurm store hub clusters security; do
  [ -n "$only" ] && [ "$only" != "$b" ] && continue
  f="dist/bench/$b.bench.js"
  [ -f "$f" ] || continue
  echo "== $b" >&2
  node "$f" --json "bench-results/$b.json"
done
