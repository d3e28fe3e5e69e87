#!/usr/bin/env bash
# Optional check: on emulated Cortex-A72 (Raspberry Pi 4) and Cortex-A76 (Pi 5), the runtime's
# full predict() (decode, resample, MFCC, int8 inference) gives the same answers as on x86:
# int8 output bytes identical, float outputs and scores within 1e-5, same labels.
#
# Usage (Debian/Ubuntu x86_64, as root, from anywhere): scripts/arm64_check.sh [MODEL.tflite ...]
# Default models: models/emodb-int8.tflite, plus models/emodb-float32.tflite when present.
# Sets up once under .cache/arm64 (qemu-user-static from apt, an arm64 Python 3.11 sysroot
# from Debian's arm64 packages, aarch64 wheels from PyPI at the versions of .venv).
# Emulated speed says nothing about a Pi's: never quote timings from this as latency.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
R=${ARM64_DIR:-$ROOT/.cache/arm64}
PY=${PYTHON:-$ROOT/.venv/bin/python}
EMODB_WAV=${EMODB_WAV:-$ROOT/../shared/data/emodb/wav}
APT_ARM64=(-o APT::Architecture=arm64 -o APT::Architectures=arm64 -o "Dir::State::Lists=$R/lists"
           -o "Dir::State::Status=$R/dpkgstatus" -o "Dir::Cache=$R/cache")
START=$SECONDS

install_qemu() {
    command -v qemu-aarch64-static >/dev/null && return
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-user-static >/dev/null
}

make_sysroot() {
    [ -x "$R/sysroot/usr/bin/python3.11" ] && return
    mkdir -p "$R/lists/partial" "$R/cache/archives/partial" "$R/sysroot"
    touch "$R/dpkgstatus"
    apt-get "${APT_ARM64[@]}" update -qq
    apt-get "${APT_ARM64[@]}" install -d -y -qq --no-install-recommends python3.11 libstdc++6 >/dev/null
    for deb in "$R"/cache/archives/*.deb; do dpkg -x "$deb" "$R/sysroot"; done
}

fetch_wheels() {
    [ -d "$R/site/numpy" ] && return
    local pins
    pins=$("$PY" -c 'import importlib.metadata as m; print(" ".join(f"{d}=={m.version(d)}" for d in ("numpy", "ai-edge-litert", "soundfile", "soxr")))')
    "$PY" -m pip download -q --only-binary=:all: --python-version 3.11 --implementation cp \
        --platform manylinux_2_28_aarch64 --platform manylinux_2_27_aarch64 --platform manylinux_2_17_aarch64 \
        --platform manylinux2014_aarch64 -d "$R/wheels" $pins 2> >(grep -v "^WARNING: Location" >&2)
    mkdir -p "$R/site"
    for whl in "$R"/wheels/*.whl; do "$PY" -m zipfile -e "$whl" "$R/site"; done
}

# The interpreter's CPU detection reads /proc/cpuinfo; qemu -L serves the guest this file.
fake_cpuinfo() {  # $1: CPU part (0xd08 Cortex-A72, 0xd0b Cortex-A76), $2: features
    mkdir -p "$R/sysroot/proc"
    : > "$R/sysroot/proc/cpuinfo"
    for n in 0 1 2 3; do
        printf 'processor\t: %s\nBogoMIPS\t: 108.00\nFeatures\t: %s\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x0\nCPU part\t: %s\nCPU revision\t: 3\n\n' \
            "$n" "$2" "$1" >> "$R/sysroot/proc/cpuinfo"
    done
}

run_arm64() {  # $1: QEMU CPU; rest: arguments of scripts.arm64_check (the repository on PYTHONPATH: from anywhere)
    local cpu=$1; shift
    QEMU_CPU=$cpu PYTHONPATH="$R/site:$ROOT/sdk:$ROOT" qemu-aarch64-static -L "$R/sysroot" \
        "$R/sysroot/usr/bin/python3.11" -m scripts.arm64_check "$@"
}

models=("$@")
if [ ${#models[@]} -eq 0 ]; then
    models=("$ROOT/models/emodb-int8.tflite")
    [ -f "$ROOT/models/emodb-float32.tflite" ] && models+=("$ROOT/models/emodb-float32.tflite")
fi

install_qemu
make_sysroot
fetch_wheels
echo "set-up: $((SECONDS - START)) s"
PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" "$PY" -m scripts.arm64_check reference "$R/reference.json" "$EMODB_WAV" "${models[@]}" 2>/dev/null

status=0
fake_cpuinfo 0xd08 "fp asimd evtstrm crc32 cpuid"
echo "== cortex-a72 (Raspberry Pi 4)"
run_arm64 cortex-a72 check "$R/reference.json" || status=1
fake_cpuinfo 0xd0b "fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp"
echo "== cortex-a76 (Raspberry Pi 5)"
run_arm64 cortex-a76 check "$R/reference.json" || status=1
echo "total: $((SECONDS - START)) s; $([ $status -eq 0 ] && echo 'all match x86' || echo 'MISMATCHES above')"
exit $status
