#!/usr/bin/env bash
# Installs everything highrate needs on Debian 12: system packages through apt, npm packages
# through npm, then builds. Safe to run again: installed packages are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  python3-notebook      # the default profile's notebook server
  jupyterhub            # its jupyterhub-singleuser (OAuth login through the hub), and a JupyterHub to benchmark against
  python3-distributed   # Dask scheduler and workers
  python3-numpy         # the analysis stack of the notebook and Dask pods (Debian's, for /usr/bin/python3)
  python3-scipy
  python3-pandas
  python3-matplotlib    # plots in notebooks (examples/agc-histograms.ipynb)
  python3-h5py          # columnar events in HDF5
  python3-numba
  python3-fsspec
  python3-xrootd        # XRootD's Python client (root:// data)
  xrootd-server         # the embedded storage element (storage.embedded; creates the xrootd system user)
  xrootd-client         # xrdcp, for root:// in pods and tests
  xrootd-scitokens-plugins  # WLCG/SciTokens token authorisation in XRootD (libXrdAccSciTokens)
  python3-ipywidgets
  bubblewrap            # per-pod mount and PID namespaces for the local executor
  chromium              # end-to-end browser tests
  postgresql            # the facility store backend, tested for real
  wrk                   # benchmarks: HTTP load from a second process
  slurm-wlm             # the Slurm executor: a single-node Slurm for tests and development (scripts/slurm.sh)
  munge                 # Slurm's authentication daemon (scripts/slurm.sh starts it)
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "[install-deps] apt: installing ${missing[*]}" >&2
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# Debian's jupyterhub package enables its own JupyterHub (port 8000, highrate's default) as a
# systemd service; highrate needs only its jupyterhub-singleuser, so that service is turned off.
if [ -d /run/systemd/system ] && systemctl is-enabled --quiet jupyterhub.service 2>/dev/null; then
  echo "[install-deps] disabling Debian's jupyterhub.service (highrate uses only jupyterhub-singleuser)" >&2
  if [ "$(id -u)" -ne 0 ]; then sudo systemctl disable --now jupyterhub.service; else systemctl disable --now jupyterhub.service; fi
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "[install-deps] npm: installing packages" >&2
  npm ci --no-audit --no-fund
fi

echo "[install-deps] building" >&2
npm run build --silent
