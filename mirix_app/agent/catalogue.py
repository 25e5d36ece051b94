"""A catalogue of well-known instruct GGUFs the user may download (from Hugging Face), with what
each needs on this machine.

Provenance of the data (read this before editing an entry):
- repo, revision, file name, size in bytes and sha256 are the published Hugging Face LFS values
  of that file at that revision, as recorded in at least two independent public catalogues
  (`SHA256_SOURCE`). They were NOT verified by downloading the files on the machine this was
  written on (it has no route to Hugging Face): the download verifies the sha256 of what it
  receives and deletes a file that does not match, so a wrong value here costs a failed download,
  never a wrong model. `verified_here` records whether a download on a real machine matched.
- layers / KV heads / head size come from each model's config.json; they size the KV cache.
- RAM needed and speed are ESTIMATES, never measurements: RAM = file + f16 KV cache for the
  context + a fixed runtime overhead; speed = the shipped model's measured tokens/s on this
  machine scaled by file size (decoding on a CPU reads every weight once per token, so it is
  bound by memory bandwidth: time per token grows with the bytes read).

No Qt, no network here.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from mirix_app.paths import Paths, make_private_dir

SHA256_SOURCE = (
    "published Hugging Face LFS sha256 and size, the same in at least two independent public "
    "catalogues; not verified by a download on the machine this list was written on"
)
RUNTIME_OVERHEAD_BYTES = 300 * 1024 * 1024  # llama.cpp compute buffers + the app's own process
DEFAULT_CTX = 4096
GB = 1000**3


@dataclass(frozen=True)
class CatalogueEntry:
    id: str
    name: str
    repo: str
    revision: str  # a commit of the repo: the file at this revision has this sha256
    filename: str
    size_bytes: int
    sha256: str  # "" = unknown: the download then refuses to run (never unverified)
    params_b: float
    layers: int
    kv_heads: int
    head_dim: int
    license: str
    note: str = ""
    sha256_source: str = SHA256_SOURCE
    verified_here: bool = False

    def url(self, endpoint: str = "https://huggingface.co") -> str:
        return f"{endpoint.rstrip('/')}/{self.repo}/resolve/{self.revision}/{self.filename}"

    def kv_cache_bytes(self, n_ctx: int = DEFAULT_CTX) -> int:
        """f16 K and V for every layer and context position (llama.cpp's default cache type)."""
        return 2 * self.layers * n_ctx * self.kv_heads * self.head_dim * 2

    def ram_bytes(self, n_ctx: int = DEFAULT_CTX) -> int:
        """Estimated resident memory while it runs (an estimate, see the module doc)."""
        return self.size_bytes + self.kv_cache_bytes(n_ctx) + RUNTIME_OVERHEAD_BYTES


CATALOGUE: tuple[CatalogueEntry, ...] = (
    CatalogueEntry(
        id="qwen2.5-1.5b-instruct-q4_k_m",
        name="Qwen2.5 1.5B Instruct (Q4_K_M)",
        repo="Qwen/Qwen2.5-1.5B-Instruct-GGUF",
        revision="91cad51170dc346986eccefdc2dd33a9da36ead9",
        filename="qwen2.5-1.5b-instruct-q4_k_m.gguf",
        size_bytes=1_117_320_736,
        sha256="6a1a2eb6d15622bf3c96857206351ba97e1af16c30d7a74ee38970e434e9407e",
        params_b=1.5,
        layers=28,
        kv_heads=2,
        head_dim=128,
        license="Apache-2.0",
        note="small and quick; a good agent (background) model",
    ),
    CatalogueEntry(
        id="qwen2.5-3b-instruct-q4_k_m",
        name="Qwen2.5 3B Instruct (Q4_K_M)",
        repo="Qwen/Qwen2.5-3B-Instruct-GGUF",
        revision="7dabda4d13d513e3e842b20f0d435c732f172cbe",
        filename="qwen2.5-3b-instruct-q4_k_m.gguf",
        size_bytes=2_104_932_768,
        sha256="626b4a6678b86442240e33df819e00132d3ba7dddfe1cdc4fbb18e0a9615c62d",
        params_b=3.1,
        layers=36,
        kv_heads=2,
        head_dim=128,
        license="Qwen Research License",
    ),
    CatalogueEntry(
        id="qwen2.5-7b-instruct-q4_k_m",
        name="Qwen2.5 7B Instruct (Q4_K_M)",
        # Qwen's own repo splits this quantisation into two files; bartowski's is one file.
        repo="bartowski/Qwen2.5-7B-Instruct-GGUF",
        revision="8911e8a47f92bac19d6f5c64a2e2095bd2f7d031",
        filename="Qwen2.5-7B-Instruct-Q4_K_M.gguf",
        size_bytes=4_683_074_240,
        sha256="65b8fcd92af6b4fefa935c625d1ac27ea29dcb6ee14589c55a8f115ceaaa1423",
        params_b=7.6,
        layers=28,
        kv_heads=4,
        head_dim=128,
        license="Apache-2.0",
        note="the best answers here; slow on a laptop CPU",
    ),
    CatalogueEntry(
        id="llama-3.2-3b-instruct-q4_k_m",
        name="Llama 3.2 3B Instruct (Q4_K_M)",
        repo="unsloth/Llama-3.2-3B-Instruct-GGUF",
        revision="e7d0997e49c9cb00d88b4c1a6a16aa894b0bbc31",
        filename="Llama-3.2-3B-Instruct-Q4_K_M.gguf",
        size_bytes=2_019_377_600,
        sha256="6c99cc00ae910f6a532a80022cb4bc1939094527a089c29294b841c0bd87f74d",
        params_b=3.2,
        layers=28,
        kv_heads=8,
        head_dim=128,
        license="Llama 3.2 Community License",
    ),
    CatalogueEntry(
        id="gemma-3-4b-it-q4_k_m",
        name="Gemma 3 4B Instruct (Q4_K_M)",
        repo="unsloth/gemma-3-4b-it-GGUF",
        revision="5a3566e716d80f709ed7b79817eaf7733d2a1fce",
        filename="gemma-3-4b-it-Q4_K_M.gguf",
        size_bytes=2_489_894_016,
        sha256="04a43a22e8d2003deda5acc262f68ec1005fa76c735a9962a8c77042a74a7d19",
        params_b=3.9,
        layers=34,
        kv_heads=4,
        head_dim=256,
        license="Gemma Terms of Use",
    ),
    CatalogueEntry(
        id="phi-4-mini-instruct-q4_k_m",
        name="Phi-4-mini Instruct (Q4_K_M)",
        repo="unsloth/Phi-4-mini-instruct-GGUF",
        revision="78eb92a46fc37e6b524df991ed9aca9bc6aa7b80",
        filename="Phi-4-mini-instruct-Q4_K_M.gguf",
        size_bytes=2_491_874_272,
        sha256="88c00229914083cd112853aab84ed51b87bdf6b9ce42f532d8c85c7c63b1730a",
        params_b=3.8,
        layers=32,
        kv_heads=8,
        head_dim=128,
        license="MIT",
    ),
)


def entry(entry_id: str) -> CatalogueEntry:
    for e in CATALOGUE:
        if e.id == entry_id:
            return e
    from mirix_app.errors import InvalidInput

    raise InvalidInput(
        f"no catalogue model {entry_id!r}", "see the list with: mirix model catalogue"
    )


def machine_ram_bytes() -> int | None:
    """Physical memory of this machine, or None where it cannot be read."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return None


# -- the measured speed of the shipped model (the reference for estimates) ------------------------
@dataclass
class ReferenceSpeed:
    model: str  # file name
    size_bytes: int
    tokens_per_second: float
    tokens: int
    threads: int
    measured_at: str

    def describe(self) -> str:
        return (
            f"{self.model} measured {self.tokens_per_second:.0f} tokens/s here "
            f"({self.tokens} tokens, {self.threads} thread(s), {self.measured_at})"
        )


@dataclass
class Estimate:
    entry: CatalogueEntry
    ram_bytes: int
    fits_ram: bool | None  # None: the machine's RAM is unknown
    tokens_per_second: float | None  # None: no reference measured yet
    reference: ReferenceSpeed | None

    def speed_text(self) -> str:
        if self.tokens_per_second is None or self.reference is None:
            return "speed: not estimated yet (measure the shipped model first)"
        return (
            f"≈{self.tokens_per_second:.1f} tokens/s (estimate: {self.reference.model}'s measured "
            f"{self.reference.tokens_per_second:.0f} tokens/s scaled by file size)"
        )

    def ram_text(self) -> str:
        text = f"needs ≈{self.ram_bytes / GB:.1f} GB RAM (estimate, {DEFAULT_CTX}-token context)"
        if self.fits_ram is False:
            text += " — more than this computer has"
        return text

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self.entry)
        d.update(
            {
                "url": self.entry.url(),
                "ram_bytes_estimate": self.ram_bytes,
                "fits_ram": self.fits_ram,
                "tokens_per_second_estimate": self.tokens_per_second,
                "estimate_basis": self.reference.describe() if self.reference else None,
            }
        )
        return d


def estimate_speed(e: CatalogueEntry, ref: ReferenceSpeed) -> float:
    """Tokens/s for `e`, scaled from the reference by file size (an estimate)."""
    return ref.tokens_per_second * ref.size_bytes / e.size_bytes


def estimates(paths: Paths, n_ctx: int = DEFAULT_CTX) -> list[Estimate]:
    ref = reference_speed(paths)
    ram = machine_ram_bytes()
    out = []
    for e in CATALOGUE:
        need = e.ram_bytes(n_ctx)
        out.append(
            Estimate(
                e,
                need,
                None if ram is None else need <= ram,
                estimate_speed(e, ref) if ref else None,
                ref,
            )
        )
    return out


def _speed_file(paths: Paths) -> Path:
    return paths.cache / "speed" / "reference.json"


def reference_speed(paths: Paths) -> ReferenceSpeed | None:
    """The last measurement of the shipped model on this machine, or None. Runs nothing."""
    from mirix_app.agent.models import default_gguf_path
    from mirix_app.errors import MirixError

    try:
        data = json.loads(_speed_file(paths).read_text(encoding="utf-8"))
        ref = ReferenceSpeed(**data)
        shipped = default_gguf_path()
    except (OSError, ValueError, TypeError, MirixError):
        return None
    if ref.model != shipped.name or ref.tokens_per_second <= 0:
        return None
    return ref


PROMPT = "Write five short sentences about the sea, one per line."


def measure_reference_speed(
    paths: Paths, *, threads: int = 1, max_tokens: int = 64, model: Any = None
) -> ReferenceSpeed:
    """Load the shipped model, time a short generation after a warm-up, cache the result."""
    from mirix_app.agent.models import LlamaCppModel, default_gguf_path

    path = default_gguf_path()
    own = model is None
    m = model if model is not None else LlamaCppModel(path, n_ctx=1024, n_threads=threads)
    try:
        m.complete([{"role": "user", "content": "Hi"}], max_tokens=4, temperature=0.0)
        before = m.usage.completion_tokens, m.usage.seconds
        m.complete(
            [{"role": "user", "content": PROMPT}],
            max_tokens=max_tokens,
            temperature=0.0,
        )
        tokens = m.usage.completion_tokens - before[0]
        seconds = m.usage.seconds - before[1]
    finally:
        if own:
            m.close()
    ref = ReferenceSpeed(
        model=path.name,
        size_bytes=path.stat().st_size,
        tokens_per_second=round(tokens / seconds, 2) if seconds > 0 else 0.0,
        tokens=tokens,
        threads=threads,
        measured_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    )
    f = _speed_file(paths)
    make_private_dir(paths.cache)
    make_private_dir(f.parent)
    tmp = f.with_name(f.name + ".tmp")
    tmp.write_text(json.dumps(asdict(ref), indent=1), encoding="utf-8")
    os.replace(tmp, f)
    return ref


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def models_dir(paths: Paths) -> Path:
    """Where downloaded models go (inside the data dir, so MIRIX_HOME moves them too)."""
    return paths.data / "models"


def installed_path(paths: Paths, e: CatalogueEntry) -> Path | None:
    """The downloaded file when it is complete (its size matches), else None. No hashing."""
    p = models_dir(paths) / e.filename
    with contextlib.suppress(OSError):
        if p.is_file() and p.stat().st_size == e.size_bytes:
            return p
    return None
