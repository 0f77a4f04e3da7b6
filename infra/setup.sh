#!/usr/bin/env bash
# Installs what bench needs on a Debian machine: the Debian packages (when missing) and the npm
# dependencies (when node_modules is not in step with package-lock.json). Idempotent, and fast when
# nothing is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# make and g++: npm ci compiles the lz4 package's native decoder (node-gyp) from its source.
packages=(postgresql-15 postgresql-plpython3-15 postgresql-contrib python3-torch python3-torchvision
  python3-numpy python3-optuna libopenblas0-openmp chromium fonts-dejavu-core make g++)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "bench setup: missing Debian packages: ${missing[*]}" >&2
    echo "Install them as root:  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    echo "(or run this script as root: sudo bash infra/setup.sh)" >&2
    exit 1
  fi
  echo "bench setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Debian's postgresql package creates and starts a default cluster; bench runs its own, so the
# default one is left alone (it is not ours to stop).

if ! /usr/bin/python3 -c 'import torch, torchvision, numpy' 2>/dev/null; then
  echo "bench setup: /usr/bin/python3 cannot import torch, torchvision and numpy; reinstall python3-torch python3-torchvision python3-numpy" >&2
  exit 1
fi

stamp=node_modules/.bench-lock-sha
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "bench setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
fi
