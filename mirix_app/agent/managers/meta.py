"""The meta manager: routed inbox items (plus the model's notes) become candidate memories for
the types that should change; an activity session becomes one episodic candidate."""

from __future__ import annotations

import logging

from mirix_app.agent import prompts
from mirix_app.agent.extract import sessions
from mirix_app.agent.managers.rules import (
    Candidate,
    Notes,
    grounded,
    source_for,
)
from mirix_app.agent.signals import Route
from mirix_app.agent.statements import stated
from mirix_app.memory.search import QUESTION_TAG
from mirix_app.memory.types import MemoryType, Source

log = logging.getLogger(__name__)


def turn_line(route: Route) -> str:
    """A chat message as one line: "speaker: text [shared a photo: caption]"."""
    line = f"{route.speaker}: {route.text}" if route.speaker != "user" else route.text
    caption = (route.item.meta or {}).get("caption")
    if caption:
        line += f" [shared a photo: {str(caption)[:200]}]"
    return line


def candidates(route: Route, notes: Notes | None, *, episode: bool = True) -> list[Candidate]:
    """Candidate memories for every type the signals (and the notes) call for. `episode=False`
    leaves out the item's episodic memory (a capture's is its activity session, made by
    `session_candidate`)."""
    src = source_for(route)
    topics = [t.strip() for t in (notes.topics if notes else []) if t.strip()][:3]
    topic_tags = [f"topic:{t.lower()[:40]}" for t in topics]
    out: list[Candidate] = []
    if episode:
        out.append(_episode(route, notes, src, topic_tags))
    out += _secrets(route, src)
    out += _steps_and_document(route, notes, src, topic_tags)
    out += _facts(route, src)
    out += _model_facts(route, notes, src, topic_tags, out)
    for c in out:
        c.tainted = bool(route.injected)
    return out


def _episode(route: Route, notes: Notes | None, src: Source, topic_tags: list[str]) -> Candidate:
    """The item's episodic memory: a question asked, a chat turn, or what a screen showed."""
    it = route.item
    if route.asked:
        line = turn_line(route)
        summary = f"Asked: {line if len(line) <= 300 else line[:299] + '…'}"
        details = "\n".join([*([line] if len(line) > 300 else []), *route.context])
        key = ""
    elif it.kind == "chat":
        line = turn_line(route)
        summary = line if len(line) <= 300 or not notes or not notes.summary else notes.summary
        # The neighbouring turns are searchable context; the memory still cites only its own turn.
        details = "\n".join([*([] if summary == line else [line]), *route.context])
        key = ""
    else:
        where = " — ".join(x for x in (it.app, it.window) if x)
        summary = (notes.summary if notes and notes.summary else "") or (
            f"Viewed {where}" if where else "Screen capture"
        )
        details = "\n".join(x for x in (where, route.text) if x)
        key = (
            f"episode:{(it.app or '').lower()}|{(it.window or '').lower()}"
            if it.kind == "capture"
            else ""
        )
    return Candidate(
        MemoryType.EPISODIC,
        {
            "occurred_at": it.at,
            "actor": route.speaker,
            "event_type": route.event_type,
            "summary": summary[:2000],
            "details": details,
        },
        [src],
        route.trusted,
        tags=[QUESTION_TAG] if route.asked else topic_tags,
        key=key,
        asked=route.asked,
    )


def _secrets(route: Route, src: Source) -> list[Candidate]:
    it = route.item
    out: list[Candidate] = []
    # Of a question only what its other sentences state is kept ("My dentist is Dr. Okafor. When
    # is my appointment?"): a secret or steps asked about are not the user's to store.
    said = stated(it.text or "") if route.asked else None
    for s in route.secrets:
        if said is not None and s.value not in said:
            continue
        what = s.what or it.window or it.app or "an account"
        out.append(
            Candidate(
                MemoryType.VAULT,
                {
                    "entry_type": s.kind,
                    "source": it.app or it.kind,
                    "sensitivity": "high",
                    "secret_value": s.value,
                    "caption": f"{s.kind} for {what}"[:300],
                },
                [src],
                route.trusted,
                key=f"vault:{s.kind}|{what.lower()}",
            )
        )
    return out


def _steps_and_document(
    route: Route, notes: Notes | None, src: Source, topic_tags: list[str]
) -> list[Candidate]:
    it = route.item
    out: list[Candidate] = []
    if route.steps and not route.asked:
        title = (notes.summary if notes and notes.summary else "") or it.window or "Steps"
        out.append(
            Candidate(
                MemoryType.PROCEDURAL,
                {"entry_type": "workflow", "summary": title[:300], "steps": route.steps},
                [src],
                route.trusted,
                tags=topic_tags,
                key="steps:" + "|".join(s.lower() for s in route.steps[:3]),
            )
        )
    if route.document:
        out.append(
            Candidate(
                MemoryType.RESOURCE,
                {
                    "title": route.document[:300],
                    "summary": (notes.summary if notes else "")[:300],
                    "resource_type": "document",
                    "content": route.text,
                },
                [src],
                route.trusted,
                tags=topic_tags,
                key=f"doc:{route.document.lower()}",
            )
        )
    return out


def _facts(route: Route, src: Source) -> list[Candidate]:
    """The user's stated facts: about the user into the core block (trusted words only), the
    rest as semantic memories keyed by their tag."""
    it = route.item
    out: list[Candidate] = []
    for f in route.facts:
        if f.core and route.trusted:
            out.append(
                Candidate(
                    MemoryType.CORE,
                    {"label": "human", "value": f"{f.key}: {f.value}"},
                    [src],
                    True,
                    fact=f,
                    key="core:human",
                )
            )
        else:
            out.append(
                Candidate(
                    MemoryType.SEMANTIC,
                    {"name": f.name, "summary": f.sentence, "details": "", "source": it.kind},
                    [src],
                    route.trusted,
                    tags=[f.tag],
                    key=f.tag,
                    fact=f,
                )
            )
    return out


def _model_facts(
    route: Route, notes: Notes | None, src: Source, topic_tags: list[str], so_far: list[Candidate]
) -> list[Candidate]:
    it = route.item
    out: list[Candidate] = []
    keyed = {c.fields.get("name", "").lower() for c in so_far if c.type is MemoryType.SEMANTIC}
    raw = it.text or ""
    # The model's facts: not over the user's own stated facts, not from a question (it states
    # nothing), not from text that holds instructions.
    model_facts = notes is not None and not (route.facts or route.question or route.injected)
    for name, sentence in notes.facts if notes and model_facts else []:
        # Only facts the input states (the model may not invent), never over a secret.
        if name.lower() in keyed or not grounded(f"{name} {sentence}", raw, need=0.8):
            continue
        if prompts.quote_data(sentence) != sentence or any(
            s.value in sentence for s in route.secrets
        ):
            continue
        out.append(
            Candidate(
                MemoryType.SEMANTIC,
                {"name": name[:200], "summary": sentence[:500], "details": "", "source": it.kind},
                [src],
                route.trusted,
                tags=topic_tags,
            )
        )
    return out


def session_candidate(
    group: sessions.Group, routes: list[Route], notes: Notes | None = None
) -> Candidate:
    """The episodic memory of an activity session: its title built from app, window and time
    (never the model's words), the distinct lines seen as details, every capture as a source.
    The model's topics (already grounded) become tags; a revisit and a continued part carry the
    earlier session's id as a tag."""
    st = group.state
    tags = [sessions.SESSION_TAG, sessions.key_tag(group.key)]
    if st.typing:
        tags.append(sessions.TYPED_TAG)
    if group.after is not None and group.after.memory_id:
        link = sessions.CONTINUES_TAG if group.part else sessions.REVISIT_TAG
        tags.append(link + group.after.memory_id)
    if notes is not None:
        tags += [f"topic:{t.lower()[:40]}" for t in notes.topics[:3] if t.strip()]
    return Candidate(
        MemoryType.EPISODIC,
        {
            "occurred_at": st.start,
            "actor": "user",
            "event_type": sessions.SESSION_EVENT,
            "summary": st.title()[:2000],
            "details": "\n".join(st.lines),
        },
        [source_for(r) for r in routes],
        False,
        tags=tags,
        key=sessions.key_tag(group.key),
        tainted=any(r.injected for r in routes),
        group=group,
    )
