"""One-shot vector reads (memory/vectors_light.py): the same neighbours as VectorIndex, a
snapshot that leaves the live index untouched, the normal path when the light one fails, and
`mirix ask` answering in a process that imports neither chromadb nor llama_cpp."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mirix_app.memory import vectors_light
from mirix_app.memory.core import MemoryCore
from mirix_app.memory.types import MemoryType
from mirix_app.memory.vectors_light import LightReader, ReadFirstVectorIndex
from mirix_app.paths import Paths

ROOT = Path(__file__).resolve().parents[2]
FACTS = [
    ("Quokka", "a small marsupial that lives on Rottnest Island"),
    ("Porto", "my flight to Porto leaves at 07:55 from gate C14"),
    ("Sourdough", "feed the starter with flour and water every morning"),
    ("Dentist", "Dr. Amara Okafor at the Riverside clinic"),
    ("Router", "unplug the power cable, wait 30 seconds, plug it back in"),
]


def _seed(paths: Paths) -> None:
    with MemoryCore.open(paths) as core:
        for name, summary in FACTS:
            core.new("semantic", {"name": name, "summary": summary})
        for i in range(30):
            core.new("episodic", {"summary": f"walked the dog past house number {i}"})


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_light_query_matches_vector_index_and_writes_nothing(paths: Paths) -> None:
    _seed(paths)
    with MemoryCore.open(paths) as core:
        queries = [core.embed([q])[0] for q in ("marsupial island", "flight gate", "dog walk")]
        types = list(MemoryType)
        light = ReadFirstVectorIndex(
            core.settings.vectors, paths.vectors, core.embedder, paths.cache
        )
        try:
            for q in queries:
                got = light.query(q, types, 12)
                assert light.light  # answered by the snapshot, not by a fallback
                want = core.vectors.query(q, types, 12)
                assert [i for i, _ in got] == [i for i, _ in want]
                assert np.allclose([s for _, s in got], [s for _, s in want], atol=1e-5)
        finally:
            light.close()
    assert not list(paths.cache.glob(vectors_light.SCRATCH_PREFIX + "*"))  # snapshot removed


def test_light_reader_alone_leaves_the_index_as_it_was(paths: Paths) -> None:
    _seed(paths)
    with MemoryCore.open(paths) as core:
        q = core.embed(["marsupial island"])[0]
    before = _digest(paths.vectors)
    reader = LightReader(paths.vectors, paths.cache)
    try:
        hits = reader.query(q, list(MemoryType), 3)
    finally:
        reader.close()
    assert hits and hits[0][0].startswith("sem_")
    assert _digest(paths.vectors) == before


def test_fallback_when_the_light_path_raises(
    paths: Paths, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _seed(paths)

    def broken(*a: object, **k: object) -> None:
        raise RuntimeError("bindings changed")

    monkeypatch.setattr(vectors_light.LightReader, "__init__", broken)
    with MemoryCore.open(paths, one_shot=True) as core:
        caplog.set_level("INFO", logger="mirix_app.memory.vectors_light")
        hits = core.search("small marsupial", mode="vector")
        assert hits[0].memory.fields["name"] == "Quokka"
        assert isinstance(core.vectors, ReadFirstVectorIndex) and not core.vectors.light
    assert "RuntimeError" in caplog.text and "bindings changed" not in caplog.text


def test_a_write_in_the_process_leaves_the_snapshot(paths: Paths) -> None:
    _seed(paths)
    with MemoryCore.open(paths, one_shot=True) as core:
        core.search("marsupial", mode="vector")
        assert isinstance(core.vectors, ReadFirstVectorIndex) and core.vectors.light
        core.new("semantic", {"name": "Axolotl", "summary": "a salamander that keeps its gills"})
        assert not core.vectors.light
        hits = core.search("salamander gills", mode="vector")
        assert hits[0].memory.fields["name"] == "Axolotl"


def _ask(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    probe = (
        "import runpy, sys; sys.argv = ['mirix'] + sys.argv[1:]\n"
        "try:\n    runpy.run_module('mirix_app.cli', run_name='__main__')\n"
        "finally:\n"
        "    heavy = sorted(m for m in ('chromadb', 'llama_cpp') if m in sys.modules)\n"
        "    print('IMPORTED=' + ','.join(heavy), file=sys.stderr)\n"
    )
    env = dict(os.environ, MIRIX_HOME=str(home), PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-c", probe, *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_ask_mode_off_answers_without_chromadb_or_llama(paths: Paths, mirix_home: Path) -> None:
    _seed(paths)
    r = _ask(mirix_home, "ask", "--local", "--no-remember", "--json", "--mode", "off",
             "When does my flight to Porto leave?")  # fmt: skip
    assert r.returncode == 0, r.stderr[-800:]
    reply = json.loads(r.stdout)
    assert reply["found"] and "07:55" in reply["extractive"]
    assert reply["mode"] == "off" and not reply["phrased"]
    assert "IMPORTED=\n" in r.stderr or r.stderr.rstrip().endswith("IMPORTED=")


def test_ask_on_an_empty_store_says_so(mirix_home: Path) -> None:
    r = _ask(mirix_home, "ask", "--local", "--no-remember", "--mode", "off", "Who is my dentist?")
    assert r.returncode == 0, r.stderr[-800:]
    first = r.stdout.strip().splitlines()[0]
    assert "memories" in first  # "I couldn't find that in your memories."
    assert "Traceback" not in r.stderr
