#!/usr/bin/env bash
# Build both distributions with `python -m build` (the runtime `lightser` from the root, the training
# side `lightser-export` from export/), check them with `twine check`, and report the installed size
# of the runtime wheel alone and with its dependencies (pip install --target, nothing else there).
#
#     bash scripts/wheels.sh            # needs `pip install build twine` in the Python it runs
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
$PY -m build --wheel --sdist --outdir "$work/dist" . >/dev/null 2>&1
$PY -m build --wheel --sdist --outdir "$work/dist" export >/dev/null 2>&1
$PY -m twine check "$work"/dist/*
ls -l "$work"/dist | awk 'NR > 1 {print $5, $9}'
runtime=$(ls "$work"/dist/lightser-[0-9]*.whl)
if unzip -l "$runtime" | grep -q lightser_export; then echo "the runtime wheel holds lightser_export" >&2; exit 1; fi
$PY -m pip install -q --no-warn-script-location --no-deps --target "$work/alone" "$runtime"
$PY -m pip install -q --no-warn-script-location --target "$work/all" "$runtime"
echo "installed, the runtime alone: $(du -sk "$work/alone/lightser" | cut -f1) KiB"
echo "installed, with its dependencies: $(du -sk "$work/all" | cut -f1) KiB"
(cd "$work/all" && du -sk -- */ | sort -rn | head -8)
