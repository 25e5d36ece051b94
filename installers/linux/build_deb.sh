#!/usr/bin/env bash
# Build a .deb from the PyInstaller bundle (run installers/linux/build_bundle.sh first).
#   installers/linux/build_deb.sh [OUT_DIR]          default OUT_DIR: dist/
# Layout: /opt/mirix/ (the bundle), /usr/bin/mirix and /usr/bin/mirix-app (symlinks),
# /usr/share/applications/mirix-app.desktop, the hicolor icon, /usr/share/doc/mirix.
# Depends on tesseract-ocr (OCR is not bundled on Linux). Start at login stays each user's choice
# (the app writes ~/.config/autostart/mirix-app.desktop from Settings), so nothing goes to /etc/xdg.
# Env: MIRIX_DIST (bundle parent, default dist), MIRIX_DEB_COMPRESS (zstd|xz|gzip|none, default zstd),
#      MIRIX_DEB_LEVEL (default 12). zstd -12: 256 MB in ~30 s here; xz -6: 231 MB but ~8 min on
#      2 cores. dpkg reads zstd since 1.21.18 (Debian 12, Ubuntu 21.10), older than the bundle's
#      glibc 2.36 floor anyway.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DIST="${MIRIX_DIST:-$ROOT/dist}"
OUT="${1:-$DIST}"
BUNDLE="$DIST/mirix"
[ -x "$BUNDLE/mirix" ] || { echo "no bundle at $BUNDLE: run installers/linux/build_bundle.sh" >&2; exit 1; }
command -v dpkg-deb >/dev/null || { echo "dpkg-deb not found (Debian/Ubuntu: apt-get install dpkg)" >&2; exit 1; }

VERSION="$("$BUNDLE/mirix" --version | awk '{print $2}')"
ARCH="$(dpkg --print-architecture 2>/dev/null || echo amd64)"
PKG="mirix_${VERSION}_${ARCH}"
STAGE="$(mktemp -d "${TMPDIR:-/tmp}/mirix-deb.XXXXXX")"
trap 'rm -rf "$STAGE"' EXIT
R="$STAGE/$PKG"

install -d -m755 "$R/DEBIAN" "$R/opt" "$R/usr/bin" "$R/usr/share/applications" \
  "$R/usr/share/icons/hicolor/256x256/apps" "$R/usr/share/doc/mirix"
cp -a "$BUNDLE" "$R/opt/mirix"
chmod -R u+rwX,go+rX,go-w "$R/opt/mirix"
ln -s /opt/mirix/mirix "$R/usr/bin/mirix"
ln -s /opt/mirix/mirix-app "$R/usr/bin/mirix-app"
install -m644 "$ROOT/resources/linux/mirix-app.desktop" "$R/usr/share/applications/mirix-app.desktop"
install -m644 "$ROOT/resources/icons/mirix.png" "$R/usr/share/icons/hicolor/256x256/apps/mirix-app.png"
install -m644 "$ROOT/resources/linux/mirix-app-autostart.desktop" "$R/usr/share/doc/mirix/autostart.desktop.example"
cat > "$R/usr/share/doc/mirix/copyright" <<COPY
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: mirix-app
License: Apache-2.0

Files: *
Copyright: mirix-app authors
License: Apache-2.0
 On Debian systems the full text is in /usr/share/common-licenses/Apache-2.0.
 The bundle also contains third-party libraries (Qt/PySide6 under LGPLv3, llama.cpp, ONNX Runtime,
 Chroma, SmolLM2-135M-Instruct and all-MiniLM-L6-v2 under Apache-2.0), each under its own licence.
COPY

SIZE_KB="$(du -sk --exclude=DEBIAN "$R" | cut -f1)"
cat > "$R/DEBIAN/control" <<CONTROL
Package: mirix
Version: $VERSION
Architecture: $ARCH
Maintainer: mirix-app maintainers <mirix@localhost>
Installed-Size: $SIZE_KB
Depends: tesseract-ocr, tesseract-ocr-eng, libc6 (>= 2.36), libegl1, libgl1, libfontconfig1, libdbus-1-3, libxkbcommon-x11-0
Recommends: gnome-keyring | kwalletmanager
Section: utils
Priority: optional
Homepage: https://github.com/mirix-app/mirix-app
Description: local-first personal memory assistant
 mirix captures what is on your screens (OCR, on this computer only), keeps it as searchable
 memories in six typed stores and answers questions about it with a small local language model.
 Includes the desktop app (mirix-app), the command line (mirix), the default SmolLM2-135M model
 and an offline embedding model. Nothing leaves the computer unless you choose an endpoint.
CONTROL

case "${MIRIX_DEB_COMPRESS:-zstd}" in
  none) COMP=(-Znone) ;;
  *) COMP=(-Z"${MIRIX_DEB_COMPRESS:-zstd}" -z"${MIRIX_DEB_LEVEL:-12}") ;;
esac
mkdir -p "$OUT"
start=$(date +%s)
dpkg-deb --root-owner-group "${COMP[@]}" --build "$R" "$OUT/$PKG.deb" >/dev/null
echo "$OUT/$PKG.deb"
echo "[deb] $(du -h "$OUT/$PKG.deb" | cut -f1) in $(( $(date +%s) - start )) s" >&2
