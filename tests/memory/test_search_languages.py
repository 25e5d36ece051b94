"""Keyword search in other languages: German words with umlauts, and Chinese, Japanese and Korean
text, which is written without spaces between words (found by its character pairs)."""

from __future__ import annotations

from mirix_app.memory.core import MemoryCore
from mirix_app.memory.store import fts_terms
from mirix_app.memory.store.cjk import index_text
from mirix_app.paths import Paths


def _ids(core: MemoryCore, query: str) -> list[str]:
    return [h.memory.id for h in core.search(query, mode="bm25")]


def _screens(core: MemoryCore) -> dict[str, str]:
    new = core.new
    return {
        "de": new(
            "resource",
            {
                "title": "Outlook — Besprechung verschoben",
                "content": "Die Besprechung mit Frau Müller ist auf Donnerstag, 14 Uhr, verschoben.",
            },
        ).id,
        "ja": new(
            "resource",
            {"title": "Slack — 連絡", "content": "明日の午後三時に東京駅で会議があります。"},
        ).id,
        "zh": new("resource", {"title": "微信", "content": "我们下周在上海参加产品发布会"}).id,
        "ko": new("resource", {"title": "카카오톡", "content": "회의는 내일 오전 열시입니다"}).id,
        "en": new("resource", {"title": "Notes", "content": "Lunch with Tom at the station"}).id,
    }


def test_a_word_inside_japanese_chinese_or_korean_text_is_found(core: MemoryCore) -> None:
    ids = _screens(core)
    assert _ids(core, "会議")[:1] == [ids["ja"]]  # "meeting", inside a sentence with no spaces
    assert _ids(core, "東京駅")[:1] == [ids["ja"]]
    assert _ids(core, "上海")[:1] == [ids["zh"]]
    assert _ids(core, "발표회 회의")[:1] == [ids["ko"]]
    assert ids["ja"] not in _ids(core, "上海")


def test_german_is_found_with_and_without_its_umlauts(core: MemoryCore) -> None:
    ids = _screens(core)
    assert _ids(core, "Besprechung")[:1] == [ids["de"]]
    assert _ids(core, "Müller")[:1] == [ids["de"]]
    assert _ids(core, "muller")[:1] == [ids["de"]]


def test_cjk_runs_are_indexed_and_searched_as_pairs() -> None:
    assert index_text("Tom") == "Tom"  # nothing added to text without CJK
    assert index_text("東京駅で").endswith("東京 京駅 駅で")
    assert fts_terms("会議室") == ['"会議"', '"議室"']
    assert fts_terms("Room 会議") == ['"room"', '"会議"']


def test_a_store_written_before_pairs_were_indexed_is_indexed_again_once(
    paths: Paths,
) -> None:
    with MemoryCore(paths) as core:
        mid = core.new("resource", {"title": "メモ", "content": "東京駅で会議があります"}).id
        con = core.store.con
        # As an older version wrote it: the run as one token, and no marker.
        with core.store.write() as w:
            w.execute("UPDATE memory_fts SET body='東京駅で会議があります'")
            w.execute("DELETE FROM meta WHERE key='fts.cjk_pairs'")
        assert mid not in _ids(core, "会議")
        assert con is not None
    with MemoryCore(paths) as core:
        assert _ids(core, "会議") == [mid]
        assert core.store.index_cjk_once() == 0  # once: the marker is set
