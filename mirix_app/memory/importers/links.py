"""Memories that link the turns of a conversation, made without a model (pure functions).

- a session memory per session (episodic): its date, who spoke, the words it is about and a few
  of its own sentences (extractive), citing the turns those sentences come from;
- a profile per speaker (semantic): what the person says about themselves ("I ...", "my ..."),
  citing each turn;
- an entity memory (semantic) per name talked about in more than one session, citing the turns
  that mention it.

Each comes with a key (kept in the meta table, key -> memory id) so a re-run refreshes it instead
of adding it twice. Every cited turn is a real message of the input; the memories cite nothing
else.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from typing import TYPE_CHECKING

from mirix_app.memory.types import Memory, MemoryType, Source

if TYPE_CHECKING:
    from mirix_app.memory.ingest import Message

KEY_PREFIX = "link:"
LINK_TAG = "linked"  # every memory made here carries it (search treats them as links)
SESSION_TAG, PROFILE_TAG, ENTITY_TAG = "session", "profile", "entity"
SESSION_SENTENCES = 4
PROFILE_STATEMENTS = 40
ENTITY_MENTIONS = 20
MAX_ENTITIES = 200  # per conversation, the most talked-about first

_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]+")
_NAME = re.compile(r"\b([A-Z][a-z]+(?:\s+[A-Z][a-z]+){0,2}|[A-Z]{2,6})\b")
_SELF = re.compile(r"\b(I|I'm|I've|I'd|I'll|my|me|myself|mine)\b", re.IGNORECASE)
# Function words: never topics, never entities on their own.
_STOP_WORDS = """a about after again all also am an and any are as at be because been before being but by can
    could did do does doing don't for from get got had has have having he her here hers him his how
    i i'm i've i'd i'll if in into is it it's its just know like me more most my no not now of off
    oh ok okay on once one only or other our out over really so some such than that that's the
    their them then there these they this those through to too up very was we were what when where
    which while who why will with would yeah yes you you're your thanks thank hey hi hello wow great
    good cool awesome sure well lot much many going go gonna want things thing something been
    being even still always never ever amazing glad happy love nice so sounds sound totally
    definitely maybe think feel felt make made time times day days way ways pretty bit lots"""
_STOP = frozenset(_STOP_WORDS.split())
_NOT_NAMES_WORDS = """I The This That What When Where Why How Yes No Oh Hey Hi Hello Thanks Thank Wow Sure Well So
    And But Or If It Its My Me We You Your They Our Their He She His Her Great Good Cool Awesome
    Congrats Congratulations Sounds Totally Definitely Maybe Really Glad Happy Love Nice Haha Lol Ok
    Okay Yeah Yep Nope Absolutely Exactly Agreed Sorry Anyway Also Plus Just Let Can Could Would
    Will Do Did Does Have Has Had Is Are Was Were Be Been Being Not Don Monday Tuesday Wednesday
    Thursday Friday Saturday Sunday Today Tomorrow Yesterday Last Next OK OMG LOL BTW"""
_NOT_NAMES = frozenset(_NOT_NAMES_WORDS.split())


def _line(m: Message) -> str:
    text = m.text.strip()
    if m.caption:
        text = f"{text} [shared a photo: {m.caption.strip()}]"
    return f"{m.speaker}: {text}"


def _words(text: str) -> list[str]:
    return [w.lower().strip("'’-") for w in _WORD.findall(text) if w.lower() not in _STOP]


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+", text) if len(s.strip()) > 2]


def _date(iso: str | None) -> str:
    if not iso:
        return ""
    from mirix_app.memory.clock import parse_time

    return parse_time(iso).strftime("%-d %B %Y")


def _cite(msgs: list[Message], uri: str) -> list[Source]:
    return [Source(kind="conversation", ref=m.id, at=m.time, uri=uri) for m in msgs]


def link_key(kind: str, conversation: str, what: str, uri: str) -> str:
    """The meta-table key that finds the memory a re-run refreshes."""
    return f"{KEY_PREFIX}{kind}:{conversation}:{what}@{uri}"


def link_memories(messages: list[Message], uris: dict[str, str]) -> list[tuple[str, Memory]]:
    """(key, memory) for every session, speaker and recurring name of each conversation."""
    by_conv: dict[str, list[Message]] = defaultdict(list)
    for m in messages:
        by_conv[m.conversation].append(m)
    out: list[tuple[str, Memory]] = []
    for conv, msgs in by_conv.items():
        uri = uris[conv]
        out += session_memories(conv, msgs, uri)
        out += profile_memories(conv, msgs, uri)
        out += entity_memories(conv, msgs, uri)
    return out


def session_memories(conv: str, msgs: list[Message], uri: str) -> list[tuple[str, Memory]]:
    sessions: dict[str, list[Message]] = defaultdict(list)
    for m in msgs:
        sessions[m.session or "session"].append(m)
    df: Counter[str] = Counter()  # in how many sessions a word occurs
    for turns in sessions.values():
        df.update({w for m in turns for w in _words(m.text)})
    n = len(sessions)
    out = []
    for name, turns in sessions.items():
        tf = Counter(w for m in turns for w in _words(m.text))
        # Distinctive words of this session: frequent here, rare in the others.
        weight = {w: c * (1.0 + (n - df[w]) / max(1, n)) for w, c in tf.items() if len(w) > 2}
        topics = [w for w, _ in sorted(weight.items(), key=lambda kv: -kv[1])[:10]]
        scored = []
        for pos, m in enumerate(turns):
            for sent in _sentences(m.text):
                ws = _words(sent)
                if len(ws) >= 3:
                    scored.append(
                        (sum(weight.get(w, 0.0) for w in set(ws)) / len(ws) ** 0.5, pos, sent, m)
                    )
        best = sorted(scored, key=lambda x: -x[0])[:SESSION_SENTENCES]
        best.sort(key=lambda x: x[1])  # in the order they were said
        people = list(dict.fromkeys(m.speaker for m in turns))
        when = _date(turns[0].time)
        summary = (
            f"Conversation {('on ' + when + ' ') if when else ''}between {' and '.join(people)}"
            f" about {', '.join(topics[:6])}"
        )
        details = "\n".join(f"{m.speaker}: {sent}" for _, _, sent, m in best)
        cited = list({id(m): m for _, _, _, m in best}.values()) or turns[:1]
        key = link_key(SESSION_TAG, conv, name, uri)
        out.append(
            (
                key,
                Memory(
                    type=MemoryType.EPISODIC,
                    fields={
                        "occurred_at": turns[0].time or cited[0].time or "",
                        "actor": ", ".join(people),
                        "event_type": "conversation-session",
                        "summary": summary,
                        "details": details,
                    },
                    tags=[t for t in (conv, LINK_TAG, SESSION_TAG) if t],
                    sources=_cite(cited, uri),
                    origin="import",
                ),
            )
        )
    return out


def profile_memories(conv: str, msgs: list[Message], uri: str) -> list[tuple[str, Memory]]:
    by_speaker: dict[str, list[Message]] = defaultdict(list)
    for m in msgs:
        if m.speaker and m.speaker != "unknown":
            by_speaker[m.speaker].append(m)
    out = []
    for speaker, turns in by_speaker.items():
        said = []
        for m in turns:
            for sent in _sentences(m.text):
                if _SELF.search(sent) and len(_words(sent)) >= 3:
                    said.append((len(set(_words(sent))), m, sent))
                    break
        best = sorted(said, key=lambda x: -x[0])[:PROFILE_STATEMENTS]
        keep = {id(m) for _, m, _ in best}
        chosen = [(m, sent) for _, m, sent in said if id(m) in keep]  # in time order
        if not chosen:
            continue
        key = link_key(PROFILE_TAG, conv, speaker, uri)
        out.append(
            (
                key,
                Memory(
                    type=MemoryType.SEMANTIC,
                    fields={
                        "name": speaker,
                        "summary": f"{speaker}: what {speaker} says about themself",
                        "details": "\n".join(
                            f"{sent} ({_date(m.time)})" if m.time else sent for m, sent in chosen
                        ),
                        "source": "conversation",
                    },
                    tags=[t for t in (conv, LINK_TAG, PROFILE_TAG) if t],
                    sources=_cite([m for m, _ in chosen], uri),
                    origin="import",
                ),
            )
        )
    return out


def entity_memories(conv: str, msgs: list[Message], uri: str) -> list[tuple[str, Memory]]:
    speakers = {m.speaker for m in msgs}
    mentions: dict[str, list[Message]] = defaultdict(list)
    inside: set[str] = set()  # names seen capitalised mid-sentence at least once
    for m in msgs:
        found = set()
        for sent in _sentences(m.text):
            for match in _NAME.finditer(sent):
                name = match.group(1)
                first = name.split()[0]
                if first in _NOT_NAMES or name.lower() in _STOP:
                    continue
                if any(sp == name or sp.startswith(name) for sp in speakers):
                    continue  # a speaker, or their nickname ("Mel" for Melanie)
                if sent[: match.start()].strip(" \"'([-"):
                    inside.add(name)
                found.add(name)
        for name in found:
            mentions[name].append(m)
    # A sentence's first word is capitalised anyway ("Seeing", "Anything"): a name only if it is
    # also capitalised inside a sentence somewhere.
    mentions = {n: ms for n, ms in mentions.items() if n in inside}
    ranked = []
    for name, ms in mentions.items():
        sessions = {m.session for m in ms}
        if len(sessions) >= 2:
            ranked.append((len(sessions), len(ms), name, ms))
    ranked.sort(key=lambda x: (-x[0], -x[1], x[2]))
    out = []
    for n_sessions, _, name, ms in ranked[:MAX_ENTITIES]:
        shown = ms[:ENTITY_MENTIONS]
        dates = [d for d in dict.fromkeys(_date(m.time) for m in ms) if d]
        key = link_key(ENTITY_TAG, conv, name, uri)
        out.append(
            (
                key,
                Memory(
                    type=MemoryType.SEMANTIC,
                    fields={
                        "name": name,
                        "summary": f"{name}: talked about in {n_sessions} conversations"
                        + (f" ({', '.join(dates[:6])})" if dates else ""),
                        "details": "\n".join(_line(m) for m in shown),
                        "source": "conversation",
                    },
                    tags=[t for t in (conv, LINK_TAG, ENTITY_TAG) if t],
                    sources=_cite(shown, uri),
                    origin="import",
                ),
            )
        )
    return out
