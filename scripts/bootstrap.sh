#!/usr/bin/env bash
# One-command set-up and run for citymodel on a fresh Debian 12 machine.
#
#   bash scripts/bootstrap.sh demo [--out DIR ...]   # install, then run `citymodel demo`
#   bash scripts/bootstrap.sh test [pytest args ...] # install, then run the test suite
#   bash scripts/bootstrap.sh install                # install only
#
# It installs the runtime apt packages when run as root (and names them when not), creates
# the virtual environment .venv (override with CITYMODEL_VENV), installs the project with
# every extra and compiles the numba kernels once (`citymodel warmup`, a minute or two; skip
# with CITYMODEL_NO_WARMUP=1), so that the first command is not a half-minute JIT wait.
# Re-runs reuse the environment unless pyproject.toml changed.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
venv="${CITYMODEL_VENV:-$here/.venv}"
python="${PYTHON:-python3}"

# Runtime libraries for open3d and VTK, and for the Qt viewer under Xvfb.
APT_PACKAGES=(libegl1 libgl1 libusb-1.0-0 xvfb xauth libxkbcommon0 libxkbcommon-x11-0
  libfontconfig1 libdbus-1-3 libglib2.0-0 libxcb-cursor0 libxcb-icccm4 libxcb-image0
  libxcb-keysyms1 libxcb-render-util0 libxcb-shape0 libxcb-xkb1)

say() { printf '\033[1m[citymodel]\033[0m %s\n' "$*" >&2; }

install_apt() {
  local missing=()
  if ! "$python" -c 'import venv, ensurepip' >/dev/null 2>&1; then missing+=(python3-venv); fi
  if command -v dpkg-query >/dev/null 2>&1; then
    for p in "${APT_PACKAGES[@]}"; do
      dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
  fi
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing apt packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    say "missing system packages (run as root, or: sudo apt-get install ${missing[*]});"
    say "without them the 3D rendering and viewer parts cannot run"
  fi
}

install_venv() {
  if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    say "Python >= 3.11 is needed; found $("$python" --version 2>&1). Set PYTHON=/path/to/python3.11"
    exit 1
  fi
  local stamp="$venv/.citymodel-stamp" want
  want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
  if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return 0
  fi
  say "creating the virtual environment in $venv and installing citymodel[all] (a few minutes the first time)"
  [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --upgrade pip >/dev/null 2>&1 || true
  "$venv/bin/python" -m pip install -q -e ".[all]" 2>&1 | grep -v -E "^WARNING: Location|is ignored: it is neither" || true
  "$venv/bin/python" -c "import citymodel, lidar, energy, viewer" || { say "installation failed"; exit 1; }
  echo "$want" > "$stamp"
  warmup
}

warmup() {
  [ "${CITYMODEL_NO_WARMUP:-0}" = 1 ] && return 0
  say "compiling the numba kernels once (citymodel warmup)"
  VTK_DEFAULT_OPENGL_WINDOW="${VTK_DEFAULT_OPENGL_WINDOW:-vtkEGLRenderWindow}" \
    "$venv/bin/citymodel" warmup || say "warm-up incomplete: the first runs of the commands above compile instead"
}

cmd="${1:-}"
[ $# -gt 0 ] && shift
case "$cmd" in
  install)
    install_apt; install_venv ;;
  demo)
    install_apt; install_venv
    export VTK_DEFAULT_OPENGL_WINDOW="${VTK_DEFAULT_OPENGL_WINDOW:-vtkEGLRenderWindow}"
    exec "$venv/bin/citymodel" demo "$@" ;;
  test)
    install_apt; install_venv
    export VTK_DEFAULT_OPENGL_WINDOW="${VTK_DEFAULT_OPENGL_WINDOW:-vtkEGLRenderWindow}"
    exec "$venv/bin/python" -m pytest -q "$@" ;;
  *)
    sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
    exit 2 ;;
esac
