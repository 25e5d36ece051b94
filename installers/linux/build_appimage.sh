#!/usr/bin/env bash
# AppImage recipe: lays out an AppDir from the PyInstaller bundle, then runs appimagetool if it is
# installed (it is not part of Debian and needs a download, so this machine stops at the AppDir).
#   installers/linux/build_bundle.sh && installers/linux/build_appimage.sh [APPDIR]
# AppDir layout:
#   AppRun                      installers/linux/appimage/AppRun (GUI by default, --cli for `mirix`)
#   mirix-app.desktop           resources/linux/mirix-app.desktop
#   mirix-app.png, .DirIcon     resources/icons/mirix.png (256x256)
#   usr/lib/mirix/              the bundle (mirix, mirix-app, _internal/)
#   usr/share/applications/, usr/share/icons/hicolor/256x256/apps/   for desktop integration tools
# Get appimagetool from https://github.com/AppImage/appimagetool/releases (x86_64 AppImage), then:
#   ARCH=x86_64 appimagetool AppDir dist/mirix-<version>-x86_64.AppImage
# The AppImage still needs the system's tesseract-ocr (`mirix doctor` says so) and glibc >= the
# build machine's (build on the oldest distribution you support).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DIST="${MIRIX_DIST:-$ROOT/dist}"
BUNDLE="$DIST/mirix"
APPDIR="${1:-$DIST/mirix.AppDir}"
[ -x "$BUNDLE/mirix" ] || { echo "no bundle at $BUNDLE: run installers/linux/build_bundle.sh" >&2; exit 1; }
VERSION="$("$BUNDLE/mirix" --version | awk '{print $2}')"

rm -rf "$APPDIR"
install -d -m755 "$APPDIR/usr/lib" "$APPDIR/usr/share/applications" \
  "$APPDIR/usr/share/icons/hicolor/256x256/apps"
# hard links when possible: the AppDir is a staging area, no need to copy 500 MB
cp -al "$BUNDLE" "$APPDIR/usr/lib/mirix" 2>/dev/null || cp -a "$BUNDLE" "$APPDIR/usr/lib/mirix"
install -m755 "$ROOT/installers/linux/appimage/AppRun" "$APPDIR/AppRun"
install -m644 "$ROOT/resources/linux/mirix-app.desktop" "$APPDIR/mirix-app.desktop"
install -m644 "$ROOT/resources/linux/mirix-app.desktop" "$APPDIR/usr/share/applications/mirix-app.desktop"
install -m644 "$ROOT/resources/icons/mirix.png" "$APPDIR/mirix-app.png"
install -m644 "$ROOT/resources/icons/mirix.png" "$APPDIR/usr/share/icons/hicolor/256x256/apps/mirix-app.png"
ln -s mirix-app.png "$APPDIR/.DirIcon"
# Inside an AppImage there is no `mirix-app` on PATH: the entry runs AppRun.
sed -i -e 's|^Exec=mirix-app|Exec=AppRun|' -e '/^TryExec=/d' "$APPDIR/mirix-app.desktop"
echo "$APPDIR"

TOOL="${APPIMAGETOOL:-$(command -v appimagetool || true)}"
if [ -n "$TOOL" ]; then
  ARCH="${ARCH:-x86_64}" "$TOOL" "$APPDIR" "$DIST/mirix-$VERSION-${ARCH:-x86_64}.AppImage"
else
  echo "[appimage] appimagetool not found: AppDir ready at $APPDIR;" \
    "run: ARCH=x86_64 appimagetool $APPDIR $DIST/mirix-$VERSION-x86_64.AppImage" >&2
fi
