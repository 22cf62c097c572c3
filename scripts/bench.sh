#!/usr/bin/env bash
# All benchmarks, side by side in one run. Prints Markdown tables; JSON results go to bench-results/.
# Usage: npm run bench [-- --only proxy|hub|store|executor|isolation|singleuser-spawn|slurm|clusters|analysis|storage-read|security]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
mkdir -p bench-results
only="${2:-}"
[ "${1:-}" = "--only" ] || only=""
failed=()
skipped=()
for b in proxy executor isolation singleuser-spawn slurm store hub clusters analysis storage-read security hub-restart longrun; do
  [ -n "$only" ] && [ "$only" != "$b" ] && continue
  f="dist/bench/$b.bench.js"
  [ -f "$f" ] || continue
  echo "== $b" >&2
  # A missed bar (exit 1) or a crash is reported at the end; the other benchmarks still run.
  # Exit 3: the benchmark cannot run here and said why (bench/skip.ts).
  rc=0
  node "$f" --json "bench-results/$b.json" || rc=$?
  if [ "$rc" -eq 3 ]; then skipped+=("$b"); elif [ "$rc" -ne 0 ]; then failed+=("$b"); fi
done
if [ ${#skipped[@]} -gt 0 ]; then echo "[bench] skipped (reasons above): ${skipped[*]}" >&2; fi
if [ ${#failed[@]} -gt 0 ]; then echo "[bench] missed a bar or failed: ${failed[*]}" >&2; exit 1; fi
