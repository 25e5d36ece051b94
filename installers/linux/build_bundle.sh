#!/usr/bin/env bash
# Build the one-folder bundle dist/mirix/ (executables `mirix` and `mirix-app`, resources, models)
# with PyInstaller from the project venv (make it first: installers/bootstrap.sh test).
#   installers/linux/build_bundle.sh [extra pyinstaller args, e.g. --clean]
# Env: MIRIX_VENV (default .venv), MIRIX_DIST (default dist), MIRIX_BUILD (default build/pyinstaller)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${MIRIX_VENV:-$ROOT/.venv}"
DIST="${MIRIX_DIST:-$ROOT/dist}"
WORK="${MIRIX_BUILD:-$ROOT/build/pyinstaller}"

if [ ! -x "$VENV/bin/python" ]; then
  echo "no venv at $VENV: run installers/bootstrap.sh test first" >&2
  exit 1
fi
if ! "$VENV/bin/python" -c 'import PyInstaller' 2>/dev/null; then
  echo "[build] installing pyinstaller into $VENV" >&2
  "$VENV/bin/python" -m pip install -q 'pyinstaller>=6.10'
fi

start=$(date +%s)
cd "$ROOT"
"$VENV/bin/python" -m PyInstaller --noconfirm --log-level "${MIRIX_PYI_LOG:-WARN}" \
  --distpath "$DIST" --workpath "$WORK" "$@" installers/mirix.spec
end=$(date +%s)

"$DIST/mirix/mirix" --version
echo "[build] $DIST/mirix: $(du -sh "$DIST/mirix" | cut -f1) in $((end - start)) s" >&2
