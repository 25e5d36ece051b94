"""Ordinary screen text for measuring redaction false positives: what terminals, editors and
browsers show every day and that is not a secret (temp folders, git logs, UUIDs, versions, digests,
request ids, colours, addresses). Seeded, so the figure is reproducible.

    python -m tests.reliability.redaction_corpus            # the rate with the current code
    python -m tests.reliability.redaction_corpus --rev HEAD~1  # ... with capture/privacy.py at a
                                                               # git revision (the "before")
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import string
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HEX = "0123456789abcdef"
TEMP_CHARS = string.ascii_lowercase + string.digits + "_"  # tempfile's alphabet


def _hex(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(HEX) for _ in range(n))


def _temp(rng: random.Random, prefix: str = "tmp") -> str:
    return prefix + "".join(rng.choice(TEMP_CHARS) for _ in range(8))


def lines(n: int = 600, seed: int = 9) -> list[str]:
    rng = random.Random(seed)
    people = ["Carla Mendes", "Sam Rivera", "Alice Moreau", "Jon Park"]
    msgs = [
        "Fix flaky capture test",
        "Review: one Xvfb helper",
        "Bump chromadb to 1.5.9",
        "README: first QA figures",
        "Merge branch 'main' into feature/ocr",
    ]
    pkgs = ["numpy", "chromadb", "PySide6", "onnxruntime", "pillow", "requests", "mss"]
    makers: list[Callable[[], str]] = [
        lambda: f"/tmp/{_temp(rng)}",
        lambda: f"/tmp/{_temp(rng)}/{rng.choice(['out.json', 'shot.png', 'log.txt'])}",
        lambda: f"cd /tmp/pytest-of-sam/pytest-{rng.randint(1, 999)}/test_capture0/{_temp(rng)}",
        lambda: f"Saved to /var/folders/{_temp(rng, '')[:2]}/{_temp(rng, '')}/T/{_temp(rng)}.webp",
        lambda: f"commit {_hex(rng, 40)}",
        lambda: f"{_hex(rng, 7)} {rng.choice(msgs)}",
        lambda: f"Merge: {_hex(rng, 7)} {_hex(rng, 7)}",
        lambda: (
            f"Author: {rng.choice(people)} <{rng.choice(people).split()[0].lower()}@example.com>"
        ),
        lambda: f"* {_hex(rng, 9)} (HEAD -> main, origin/main) {rng.choice(msgs)}",
        lambda: f"index {_hex(rng, 7)}..{_hex(rng, 7)} 100644",
        lambda: str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        lambda: f"request_id={uuid.UUID(int=rng.getrandbits(128), version=4)} status=200",
        lambda: f"Created session {uuid.UUID(int=rng.getrandbits(128), version=4)} for Carla",
        lambda: (
            f"{rng.choice(pkgs)}=={rng.randint(0, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 20)}"
        ),
        lambda: (
            f"Successfully installed {rng.choice(pkgs)}-{rng.randint(1, 3)}.{rng.randint(0, 9)}.{rng.randint(0, 9)}rc{rng.randint(1, 3)}"
        ),
        lambda: f"version 0.{rng.randint(1, 9)}.dev{rng.randint(1, 300)}+g{_hex(rng, 8)}",
        lambda: (
            f"v{rng.randint(1, 5)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}-beta.{rng.randint(1, 9)}+build.{rng.randint(100, 999)}"
        ),
        lambda: f"docker pull ghcr.io/org/app@sha256:{_hex(rng, 64)}",
        lambda: f"Digest: sha256:{_hex(rng, 64)}",
        lambda: f"sha256sum: {_hex(rng, 64)}  mirix-app.AppImage",
        lambda: f"md5 {_hex(rng, 32)}",
        lambda: f"color: #{_hex(rng, 6)}; background: #{_hex(rng, 6)}",
        lambda: f"MAC {':'.join(_hex(rng, 2) for _ in range(6))} on wlan0",
        lambda: f"inet6 fe80::{_hex(rng, 4)}:{_hex(rng, 4)}:{_hex(rng, 4)}:{_hex(rng, 4)}/64",
        lambda: f"at 0x{_hex(rng, 12)} in libggml.so",
        lambda: (
            f"2024-05-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00Z INFO capture kept"
        ),
        lambda: (
            f"Build #{rng.randint(100, 9999)} passed in {rng.randint(1, 59)}m {rng.randint(1, 59)}s"
        ),
        lambda: f"~/.cache/pip/wheels/{_hex(rng, 2)}/{_hex(rng, 2)}/{_hex(rng, 56)}",
        lambda: (
            f"Downloads/IMG_{rng.randint(1000, 9999)}.JPG and Screenshot 2024-05-0{rng.randint(1, 9)} at 10.{rng.randint(10, 59)}.png"
        ),
    ]
    return [rng.choice(makers)() for _ in range(n)]


def load_redact(rev: str | None) -> Callable[[str], tuple[str, dict[str, int]]]:
    if rev is None:
        from mirix_app.safety.redaction import redact

        return redact
    # Redaction lives in mirix_app/safety/redaction.py since the safety package; before, in
    # capture/privacy.py.
    for where in ("mirix_app/safety/redaction.py", "mirix_app/capture/privacy.py"):
        shown = subprocess.run(
            ["git", "-C", str(REPO), "show", f"{rev}:{where}"], capture_output=True, text=True
        )
        if shown.returncode == 0:
            break
    shown.check_returncode()
    src = shown.stdout
    path = Path(tempfile.mkdtemp()) / "privacy_at_rev.py"
    path.write_text(src)
    spec = importlib.util.spec_from_file_location("privacy_at_rev", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["privacy_at_rev"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    path.unlink()
    path.parent.rmdir()
    fn: Callable[[str], tuple[str, dict[str, int]]] = module.redact
    return fn


def false_positives(
    redact: Callable[[str], tuple[str, dict[str, int]]], corpus: list[str] | None = None
) -> tuple[int, int, int, int, list[str]]:
    """(lines changed, lines, tokens hidden, tokens, examples) over the ordinary corpus."""
    corpus = corpus if corpus is not None else lines()
    changed, hidden, tokens, examples = 0, 0, 0, []
    for line in corpus:
        out, _ = redact(line)
        tokens += len(line.split())
        if out != line:
            changed += 1
            kept = set(out.split())
            hidden += sum(1 for t in line.split() if t not in kept)
            if len(examples) < 12:
                examples.append(f"{line!r} -> {out!r}")
    return changed, len(corpus), hidden, tokens, examples


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rev", help="measure capture/privacy.py as it was at this git revision")
    args = ap.parse_args(argv)
    changed, n, hidden, tokens, examples = false_positives(load_redact(args.rev))
    where = f"at {args.rev}" if args.rev else "now"
    print(
        f"redaction false positives ({where}): {changed}/{n} ordinary lines changed "
        f"({changed / n:.1%}), {hidden}/{tokens} tokens hidden ({hidden / tokens:.2%})"
    )
    for e in examples:
        print("  ", e)
    return 0


if __name__ == "__main__":
    sys.exit(main())
