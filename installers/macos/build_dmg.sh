#!/usr/bin/env bash
# macOS: build mirix.app with the shared spec, sign it, and wrap it in a DMG.
#   installers/macos/build_dmg.sh            -> dist/mirix.app, dist/mirix-<version>.dmg
# Needs: the project venv (python3.11+, `pip install -e ".[test]"` and the three model packages
# with --no-deps, see installers/bootstrap.sh), Xcode command line tools (codesign, hdiutil).
# Optional: `brew install create-dmg` for a DMG with an Applications link and icon layout
#           (without it, plain hdiutil is used; the DMG still has an Applications link).
# Env: MIRIX_VENV (default .venv), MIRIX_CODESIGN_IDENTITY ("Developer ID Application: ...";
#      default "-" = ad-hoc), MIRIX_NOTARY_PROFILE (a `xcrun notarytool store-credentials` profile;
#      when set the DMG is notarized and stapled).
# Run on the oldest macOS you support and on each architecture (arm64, x86_64): PyInstaller bundles
# are not cross-built. llama-cpp-python builds with Metal on Apple silicon by default.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${MIRIX_VENV:-$ROOT/.venv}"
DIST="$ROOT/dist"
IDENTITY="${MIRIX_CODESIGN_IDENTITY:--}"
[ "$(uname -s)" = Darwin ] || { echo "run this on macOS" >&2; exit 1; }

"$VENV/bin/python" -m PyInstaller --noconfirm --distpath "$DIST" --workpath "$ROOT/build/pyinstaller" \
  "$ROOT/installers/mirix.spec"
APP="$DIST/mirix.app"
VERSION="$("$APP/Contents/MacOS/mirix" --version | awk '{print $2}')"

# Sign inside-out with the hardened runtime. The entitlements let the bundled Python load its own
# unsigned-by-Apple libraries (PyInstaller's usual set); screen recording needs no entitlement, only
# the user's consent (see installers/README.md).
codesign --force --deep --options runtime --timestamp \
  --entitlements "$ROOT/installers/macos/entitlements.plist" --sign "$IDENTITY" "$APP"
codesign --verify --deep --strict --verbose=2 "$APP"

DMG="$DIST/mirix-$VERSION.dmg"
rm -f "$DMG"
if command -v create-dmg >/dev/null; then
  create-dmg --volname "mirix $VERSION" --window-size 540 380 --icon-size 96 \
    --icon "mirix.app" 140 180 --app-drop-link 400 180 --no-internet-enable "$DMG" "$APP"
else
  STAGE="$(mktemp -d)"; trap 'rm -rf "$STAGE"' EXIT
  cp -R "$APP" "$STAGE/"
  ln -s /Applications "$STAGE/Applications"
  hdiutil create -volname "mirix $VERSION" -srcfolder "$STAGE" -fs HFS+ -format UDZO -ov "$DMG"
fi
[ "$IDENTITY" = "-" ] || codesign --force --sign "$IDENTITY" --timestamp "$DMG"

if [ -n "${MIRIX_NOTARY_PROFILE:-}" ]; then
  xcrun notarytool submit "$DMG" --keychain-profile "$MIRIX_NOTARY_PROFILE" --wait
  xcrun stapler staple "$DMG"
fi
echo "$DMG"
