#!/usr/bin/env bash
# Install the Debian packages the kit needs, only those missing (called by `make setup`).
#   usage: scripts/setup_system.sh PYTHON
# Always needed: verilator iverilog build-essential perl zlib1g-dev espeak-ng (Verilator does
# not pull in a C++ compiler; zlib for FST traces; espeak-ng synthesizes the keyword-spotting
# data set, mapper/kws.py). With a Debian python3 (prefix /usr) also python3-venv
# when `venv`/`ensurepip` is missing and libpython3-dev when no shared libpython exists (cocotb
# embeds Python in the simulator). apt-get update runs only when something is missing.
# Optional: ccache (tb.runner compiles Verilator's runtime once per checkout instead of once per
# build; without it every build still works, more slowly); a failed install only warns.
set -euo pipefail

python=${1:-python3}
packages=(verilator iverilog build-essential perl zlib1g-dev espeak-ng)

if ! "$python" -c 'import venv, ensurepip' 2>/dev/null; then
    packages+=(python3-venv)
    python_fix="python3-venv"
fi
# A shared libpython: Py_ENABLE_SHARED, or Debian's libpython3.X.so next to a static python3.
if ! "$python" - <<'PY'
import glob, os, sys, sysconfig
v = sysconfig.get_config_var
if v("Py_ENABLE_SHARED"):
    sys.exit(0)
ver = f"{sys.version_info.major}.{sys.version_info.minor}"
dirs = {v("LIBDIR") or "", os.path.join(v("LIBDIR") or "", v("MULTIARCH") or ""),
        f"/usr/lib/{v('MULTIARCH') or ''}"}
sys.exit(0 if any(glob.glob(os.path.join(d, f"libpython{ver}*.so*")) for d in dirs if d) else 1)
PY
then
    packages+=(libpython3-dev)
    python_fix="${python_fix:+$python_fix }libpython3-dev"
fi

if ! command -v dpkg >/dev/null; then
    echo "setup: no dpkg (not Debian): install ${packages[*]} or equivalents yourself" >&2
    for tool in verilator iverilog g++ make perl espeak-ng; do
        command -v "$tool" >/dev/null || { echo "setup: error: $tool not found" >&2; exit 1; }
    done
    exit 0
fi

missing=()
for package in "${packages[@]}"; do
    if ! dpkg -s "$package" 2>/dev/null | grep -q '^Status: install ok installed'; then
        missing+=("$package")
    fi
done

optional=()
if ! dpkg -s ccache 2>/dev/null | grep -q '^Status: install ok installed'; then
    optional+=(ccache)
fi

if [ ${#missing[@]} -eq 0 ] && [ ${#optional[@]} -eq 0 ]; then
    echo "setup: Debian packages present: ${packages[*]} ccache (apt skipped)"
    exit 0
fi

if [ -n "${python_fix:-}" ] && [ "$("$python" -c 'import sys; print(sys.base_prefix)')" != /usr ]; then
    echo "setup: error: $python ($("$python" -c 'import sys; print(sys.executable)')) is not" \
         "Debian's python3 and lacks: $python_fix. Use a Python with venv and a shared" \
         "libpython (e.g. PYTHON=/usr/bin/python3 make setup)." >&2
    exit 1
fi

if [ "$(id -u)" -eq 0 ]; then
    sudo=()
elif command -v sudo >/dev/null; then
    sudo=(sudo)
elif [ ${#missing[@]} -eq 0 ]; then
    echo "setup: warning: ccache is not installed (optional: it speeds up Verilator builds)" >&2
    exit 0
else
    echo "setup: error: missing Debian packages: ${missing[*]}; run 'make setup' as root or" \
         "install them: apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
fi

if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing Debian packages: ${missing[*]}"
    "${sudo[@]}" apt-get update
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y --no-install-recommends "${missing[@]}"
    updated=1
fi
if [ ${#optional[@]} -gt 0 ]; then
    echo "setup: installing optional Debian packages: ${optional[*]}"
    if ! { [ -n "${updated:-}" ] || "${sudo[@]}" apt-get update; } ||
       ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
            apt-get install -y --no-install-recommends "${optional[@]}"; then
        echo "setup: warning: could not install ${optional[*]} (optional: Verilator builds" \
             "are slower without ccache)" >&2
    fi
fi
