"""A one-time pass over what older versions made of the user's chat questions (see
`mark_old_questions`); the pipeline runs it once per data dir before its first batch."""

from __future__ import annotations

import logging

from mirix_app.agent.statements import asked_by_user, stated, unquoted, user_facts
from mirix_app.memory.core import MemoryCore
from mirix_app.memory.search import QUESTION_EVENT, QUESTION_TAG
from mirix_app.memory.types import MemoryType
from mirix_app.safety.secrets import mask_secrets

log = logging.getLogger(__name__)

OLD_QUESTIONS_KEY = "agent.old_questions_marked"  # meta: the one-time pass below has run


def mark_old_questions(core: MemoryCore) -> tuple[int, int]:
    """What older versions made of the user's chat questions: each question's episodic record is
    marked (search then ranks it below the evidence) and the facts, steps and resources made from
    questions alone are trashed (undoable: they are in the trash and their history). A fact that a
    statement in the same message still gives is kept; vault entries and core blocks are left to
    the user. Returns (marked, trashed)."""
    refs = core.source_refs("chat")
    asked: dict[str, set[str]] = {}  # question item id -> fact tags its statements still give
    for ref in refs:
        it = core.inbox_get(ref)
        if it is not None and asked_by_user(it):
            said = user_facts(stated(unquoted(mask_secrets(it.text))))
            asked[ref] = {f.tag for f in said}
    marked = trashed = 0
    if not asked:
        return 0, 0
    with core.batch(actor="agent") as b:
        seen: set[str] = set()
        for ref, kept in asked.items():
            for mid in core.memory_ids_from("chat", ref):
                if mid in seen:
                    continue
                seen.add(mid)
                m = b.get(mid)
                if m.deleted_at is not None or m.origin != "agent":
                    continue
                if m.type is MemoryType.EPISODIC:
                    if QUESTION_TAG not in m.tags:
                        b.update(
                            mid,
                            fields={"event_type": QUESTION_EVENT},
                            tags=sorted({*m.tags, QUESTION_TAG}),
                        )
                        marked += 1
                    continue
                if m.type not in (MemoryType.SEMANTIC, MemoryType.PROCEDURAL, MemoryType.RESOURCE):
                    continue
                only_questions = all(s.kind == "chat" and s.ref in asked for s in m.sources)
                if only_questions and not kept & set(m.tags):
                    b.trash(mid)
                    trashed += 1
    if marked or trashed:
        log.info("older questions: %d record(s) marked, %d memory(ies) trashed", marked, trashed)
    return marked, trashed
