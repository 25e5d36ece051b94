"""The words of a sentence that answer a 'what' question."""

from __future__ import annotations

import re

from mirix_app.agent.answer.lexicon import (
    _AUX,
    _CALENDAR,
    _DEICTIC,
    _FAVOURITE_Q,
    _FEELINGS,
    _FILLER,
    _LEAD,
    _MEANS,
    _MEANS_Q,
    _QUESTION_NOISE,
    _TIME_WORDS,
    _matches,
    _trim,
    stem,
    words,
)
from mirix_app.agent.answer.question import Question
from mirix_app.memory.types import STOP_WORDS

# Words at which the answer's noun phrase ends: a new clause begins ("Marley flooring, which is
# what studios use"; "mental health is super rewarding").
_STOP_AT = frozenset(
    (
        "is was are were which that who because so when while if since it it's i "
        "i'm i've we you they he she has have had will would can could really just "
        "last yesterday today tomorrow ago next recently lately too also as than"
    ).split()
)


_PREP = frozenset(
    (
        "after before about with into like through around over under towards toward "
        "across along during up out off down onto"
    ).split()
)


_TITLE_HEADS = frozenset(
    (
        "book song movie film show title piece album poem novel series game "
        "play name named called quote saying motto slogan sign poster posters "
        "tattoo band podcast"
    ).split()
)


# "Brave" by Sara Bareilles: a title and who made it.
_BY = re.compile(r"\s+by\s+[A-Z][\w'’.-]*(?:\s+[A-Z][\w'’.-]*){0,2}")
_QUOTED = re.compile(r"[\"“]([^\"“”]{2,60})[\"”]|(?<!\w)'([^']{2,40})'(?!\w)")


# A question for a reason or a cause: its answer is a clause, not a noun.
_WHY = re.compile(
    r"(?i)^\s*(?:why\b|what\s+(?:inspired|motivated|made|caused|led|prompted|drove|sparked)\b)"
)


def _title(m: re.Match[str], text: str, qnames: set[str]) -> str:
    """A quoted title, with who made it when the sentence says and the question does not."""
    title = (m.group(1) or m.group(2) or "").strip()
    by = _BY.match(text, m.end())
    if by and not qnames & {w.lower() for w in words(by.group(0))}:
        return title + by.group(0).rstrip(".")
    return title


def _window(text: str, q: Question) -> str:
    """The words of a sentence that answer a 'what' question: the chunk of words the question
    does not already hold, nearest after the words it does hold ("raise awareness for -> mental
    health"; "say goodbye to -> Max"), cut where a new clause begins; the thing asked about keeps
    its modifiers ("what kind of flooring" -> "Marley flooring"). A quoted title answers a
    question about a book, a song or a name."""
    qset = set(q.stems)
    qnames = {n.lower().rstrip("'’s") for n in q.names}
    fphrase = _focus_phrase(q.text)
    focus = fphrase[-1] if fphrase else ""
    qwords = {w.lower() for w in words(q.text)}
    if focus in _TITLE_HEADS or qwords & {"name", "named", "called", "title"}:
        quoted = [_title(m, text, qnames) for m in _QUOTED.finditer(text)]
        quoted = [x for x in quoted if x and not all(_is_q(w, qset, qnames) for w in words(x))]
        if quoted:
            return quoted[0]
    if _FAVOURITE_Q.search(q.text):
        pick = _favourite(text, qset, qnames)
        if pick:
            return pick
    purpose_of = _TO_DO_Q.search(q.text)
    if purpose_of:
        way = _way_to(text, stem(purpose_of.group(1)))
        if way:
            return way
    means = _MEANS.search(text) if _MEANS_Q.search(q.text) else None
    if means:
        # What follows the cue is the meaning itself, verbs and all ("love, faith and strength").
        rest = _first_clause(text[means.end() :], r",\s+(?:but|so|and then|which)\b")
        said = " ".join(rest.split()[:12]).strip(" ,")
        if said and not weak(said.split(), q):
            return said
    if (
        _FEELING_Q.search(q.text)
        and not _WHY.search(q.text)
        and not _DOING.search(q.text)
        and not re.search(r"(?i)\bto\s+feel\b", q.text)  # "what did she do to feel closer"
    ):
        felt = _feeling(text, qset, qnames)
        if felt:
            return felt
    for_q, why = bool(_FOR_Q.search(q.text)), bool(_WHY.search(q.text))
    purpose = _purpose(text, q, qset, qnames) if for_q or why else ""
    if for_q and purpose:
        return purpose
    if why:
        m = re.search(r"(?i)\b(?:because|since|so that|in order to|'?cause)\b\s+(.+)", text)
        if m:
            return _trim(_cut(m.group(1)), 12)
        if purpose:
            return purpose
        clause = max(_clauses(text), key=lambda c: sum(map(_substantive, words(c))), default="")
        toks = words(clause)
        i = 0
        while i < len(toks) - 1 and toks[i].lower() in _LEAD | _FILLER:
            i += 1
        if len(toks) - i >= 3:
            return " ".join(toks[i : i + 14])
    fstem = stem(focus) if focus else ""
    phrase = {stem(w) for w in fphrase}
    best: tuple[float, str] | None = None
    for ci, clause in enumerate(_clauses(text)):
        toks = words(clause)
        tstems = [stem(w.lower()) for w in toks]
        heads = [bool(fstem) and t == fstem for t in tstems]
        # A modifier of it ends a phrase too ("kundalini yoga" for "what yoga activity").
        mods = [t in phrase and t != fstem for t in tstems]
        # The question's own noun phrase, said whole ("a live music event"), is the answer's.
        marks = [
            _is_q(w, qset, qnames)
            and not (tstems[i] in phrase and i + 1 < len(toks) and tstems[i + 1] in phrase)
            for i, w in enumerate(toks)
        ]
        nq = sum(marks)
        chunks: list[tuple[int, int]] = []
        i = 0
        while i < len(toks):
            if (marks[i] and not (heads[i] or mods[i])) or toks[i].lower() in _STOP_AT:
                i += 1
                continue
            j = i
            while j < len(toks) and not (
                (marks[j] and not (heads[j] or mods[j])) or toks[j].lower() in _STOP_AT
            ):
                j += 1
                if heads[j - 1] or (mods[j - 1] and marks[j - 1]):
                    break  # the thing asked about ends its phrase
            chunks.append((i, j))
            i = j
        for a, b in chunks:
            span = _tidy(toks[a:b])
            if not span:
                continue
            content = sum(1 for w in span if _substantive(w))
            if not content or (len(span) == 1 and (heads[b - 1] or mods[b - 1])):
                continue
            k = a - 1
            while k >= 0 and toks[k].lower() in STOP_WORDS and not marks[k]:
                k -= 1
            after = k >= 0 and marks[k] and not heads[k]
            before = b < len(toks) and marks[b]
            score = (
                2.0 * after
                + 0.8 * before
                + 2.5 * heads[b - 1]
                + 1.0 * (mods[b - 1] and marks[b - 1])
                + 0.7 * any(toks[x][:1].isupper() for x in range(max(a, 1), b))
                + 0.6 * min(nq, 3)
                + 0.5 * min(content, 3)
                - 0.2 * max(0, len(span) - 6)
                - 0.3 * ci
            )
            if best is None or score > best[0]:
                best = (score, " ".join(span))
    if best is None or weak(best[1].split(), q):
        return _clause(text, q) or (best[1] if best else _trim(text, 12))
    return _thing(best[1], q)


_DETERMINERS = frozenset("a an the this these those my our his her their your some".split())
# "What did they do after ...", "what is she doing": the answer is an act, verb and all.
_DOING = re.compile(
    r"(?i)\b(?:did|does|do|will|would|can|could|should)\b.*\bdo\b|\b(?:doing|done)\b|\bhappen"
)


# Nouns that name acts: "what new activity did she start" is answered with the verb.
_ACTS = frozenset(
    (
        "activity activities news plan plans thing things hobby hobbies change changes advice "
        "goal goals idea ideas experience experiences project projects step steps habit habits "
        "routine decision decisions action actions common"
    ).split()
)


def _thing(span: str, q: Question) -> str:
    """A question for a thing is answered by the noun phrase, not the verb before it: "came
    across this cool rainbow sidewalk" -> "cool rainbow sidewalk"; "what did they do" keeps
    its verb."""
    toks = span.split()
    if (
        not re.match(r"(?i)\s*(?:what|which)\b", q.text)
        or _DOING.search(q.text)
        or _WHY.search(q.text)
        or _focus(q.text) in _ACTS
        or (toks and toks[0].lower().endswith("ing"))  # "volunteering at a shelter": the act
    ):
        return span
    for i, w in enumerate(toks[:3]):
        if w.lower() in _DETERMINERS:
            lead = toks[:i]
            if (
                i == 0
                or i + 1 >= len(toks)
                or any(t[:1].isupper() or t.lower() in ("and", "or") for t in lead)
                or lead[-1].lower() == "of"  # "completion of a degree" is one phrase
            ):
                return span
            return " ".join(toks[i + 1 :])
    return span


_EVALUATIVE = frozenset(
    (
        "sounds looks seems amazing awesome great nice cool fun lovely wonderful fantastic "
        "incredible beautiful tough hard sorry proud happy excited special good okay ok fine "
        "big small short huge new something anything everything things thing stuff way "
        "woah whoa wow yay here's there's don't can't won't isn't btw anyway yep nope"
    ).split()
)


_FEELING_Q = re.compile(
    r"(?i)\b(?:feel|felt|feeling|feelings|emotion|emotions|describe|described|sentiment|"
    r"reaction|react|reacted|think\s+of|thought\s+of|opinion|mood|like\s+about)\b"
    r"|\bhow(?:'s|\s+is|\s+was|\s+are|\s+were)\b.*\b(?:doing|going)\b"
)


_FELT = re.compile(r"(?i)\b(?:felt|feel|feels|feeling)\s+(?:so\s+|really\s+|very\s+)?(?:like\s+)?")


def _feeling(text: str, qset: set[str], qnames: set[str]) -> str:
    """How something felt, as the sentence says it: the words after "felt" ("felt tiny and in
    awe of the universe"), or its words of feeling ("inspiring and emotional")."""
    m = _FELT.search(text)
    if m:
        said = _first_clause(text[m.end() :], r"[:,]|\s(?:because|when|since|so)\s").split()[:10]
        if said and not all(_is_q(w, qset, qnames) for w in said):
            return " ".join(said)
    found = [w for w in words(text) if w.lower() in _FEELINGS and not _is_q(w, qset, qnames)]
    return " and ".join(dict.fromkeys(w.lower() for w in found[:3]))


_IS_MY_TOP = re.compile(
    r"(?i)([\w'’-]+(?:\s+[\w'’-]+){0,2})\s+(?:is|was|are|were)\s+(?:definitely\s+|probably\s+|"
    r"still\s+|always\s+)?(?:my|our)\s+(?:all-time\s+|absolute\s+)?(?:favou?rite|fav|top\s+pick|"
    r"top\s+choice|go-to|number\s+one)\b"
)
_MY_TOP_IS = re.compile(
    r"(?i)\b(?:my|our)\s+(?:all-time\s+)?(?:favou?rite|fav|top\s+pick|go-to)(?:\s+[\w-]+){0,2}?"
    r"\s+(?:is|was|has\s+to\s+be|would\s+be)\s+"
)


def _favourite(text: str, qset: set[str], qnames: set[str]) -> str:
    """The favourite a sentence names: "contemporary is my top pick", "my fav memory was when
    my team won first place"."""
    m = _IS_MY_TOP.search(text)
    if m:
        toks = [w for w in words(m.group(1)) if w.lower() not in STOP_WORDS | _FILLER]
        toks = [w for w in toks if not _is_q(w, qset, qnames)] or toks
        if toks:
            return " ".join(toks[-2:]) if len(toks) > 1 and toks[-2][:1].isupper() else toks[-1]
    m = _MY_TOP_IS.search(text)
    if m:
        rest = _first_clause(text[m.end() :], ",").split()
        rest = rest[1:] if rest and rest[0].lower() in ("when", "that", "definitely") else rest
        return " ".join(rest[:10])
    return ""


# "What does she do to relax?", "how does he unwind": what is done for an end.
_TO_DO_Q = re.compile(r"(?i)\b(?:do|does|did)\b.*\bdo\s+to\s+([a-z][\w-]+)")
_WAY_TO = re.compile(
    r"(?i)\b(?:a|an|my|the|one|best)\s+(?:[\w-]+\s+){0,2}?(?:way|ways|thing)\s+to\s+([a-z][\w-]+)"
)


def _way_to(text: str, goal: str) -> str:
    """The act a sentence names as its way to the goal: "Been running longer - a great way to
    destress" -> "running"."""
    for m in _WAY_TO.finditer(text):
        if stem(m.group(1)) != goal:
            continue
        acts = [w for w in words(text[: m.start()]) if w.lower().endswith("ing") and len(w) > 4]
        if acts:
            return acts[0].lower()
    return ""


def judges(text: str, q: Question) -> bool:
    """Whether `text` answers a question of how something felt or went ("doing great!")."""
    return bool(_FEELING_Q.search(q.text)) and any(
        w.lower() in _EVALUATIVE or w.lower() in _FILLER for w in words(text)
    )


def weak(span: list[str], q: Question) -> bool:
    """A span that answers no 'what': nothing, a word of reaction ("sounds", "tough") unless
    the question asks how something felt or looked, a bare verb form ("joined", "asked"), or
    the name of the person spoken to."""
    qset = set(q.stems)
    qnames = {n.lower().rstrip("'’s") for n in q.names}
    span = [w for w in span if not _is_q(w, qset, qnames)] if len(span) <= 4 else span
    if not span:
        return True
    if len(span) > 2:
        return False
    feeling = bool(_FEELING_Q.search(q.text))
    lows = [w.lower().strip(".,!?") for w in span]
    if all(w in _EVALUATIVE or w in _LEAD or w in _FILLER for w in lows):
        return not (feeling and any(w in _EVALUATIVE for w in lows))
    if len(span) == 1:
        w = lows[0]
        if w.endswith(("ed", "n't")) and not span[0][:1].isupper() and not feeling:
            return True
        if span[0][:1].isupper() and w in {n.lower() for n in q.names}:
            return True
    return False


def _clause(text: str, q: Question) -> str:
    """The clause that says most the question does not: the answer when no short span holds."""
    qset = set(q.stems)
    qnames = {n.lower().rstrip("'’s") for n in q.names}

    def new_words(c: str) -> int:
        return sum(1 for w in words(c) if _substantive(w) and not _is_q(w, qset, qnames))

    clauses = [c for c in _clauses(text) if new_words(c)]
    if not clauses:
        return ""
    return " ".join(_tidy(words(max(clauses, key=new_words))) or words(clauses[0])[:12])


_FOCUS = re.compile(
    r"(?i)\b(?:what|which)(?:'s|\s+is|\s+was|\s+are|\s+were)?"
    r"(?:\s+(?:my|your|the|his|her|their|our|[a-z]+'s))?(?:\s+(?:favou?rite|fav|main|new|first))?"
    r"\s+(?:(?:kind|type|sort|style|form|genre|brand)s?\s+of\s+)?([a-z][\w-]+)"
)


# "What did you go to Rome for?": a purpose, said as "to <verb> ...".
_FOR_Q = re.compile(r"(?i)^\s*(?:what|why)\b.*\bfor\s*\?*\s*$")
_TO_VERB = re.compile(
    r"\bto\s+(?!(?:the|a|an|my|your|his|her|our|their|this|that|be)\b)([a-z][\w'-]+\b.*)"
)


def _purpose(text: str, q: Question, qset: set[str], qnames: set[str]) -> str:
    """The infinitive after the question's own words: "took a trip to Rome to clear my mind"
    -> "to clear my mind"."""
    toks = words(text)
    marked = [i for i, w in enumerate(toks) if _is_q(w, qset, qnames)]
    if not marked:
        return ""
    rest = " ".join(toks[marked[0] :])
    m = _TO_VERB.search(rest)
    if not m or _is_q(m.group(1).split()[0], qset, qnames):
        return ""
    said = _tidy(words(m.group(1)))
    return " ".join(["to", *said]) if said else ""


def _focus(question: str) -> str:
    """The noun a 'what' question asks about: "what kind of flooring" -> flooring; the last word
    of its noun phrase, "which classical musicians does ..." -> musicians."""
    phrase = _focus_phrase(question)
    return phrase[-1] if phrase else ""


def _focus_phrase(question: str) -> list[str]:
    """The noun phrase a 'what' question asks about: "what music events has ..." -> music,
    events."""
    m = _FOCUS.search(question)
    if m is None:
        return []
    w = m.group(1).lower()
    if w in STOP_WORDS or w in _AUX or w in _QUESTION_NOISE:
        return []
    out = [w]
    rest = re.findall(r"\S+", question[m.end() :])
    for nxt in rest[:2]:
        if not re.fullmatch(r"[a-z][\w-]*", nxt) or nxt in STOP_WORDS or nxt in _AUX:
            break
        if nxt in _QUESTION_NOISE or nxt.endswith(("ed", "ing")):
            break
        out.append(nxt)
    # The phrase is over where an auxiliary follows ("... musicians does Melanie"); a word
    # before a name or an object is a verb ("which song motivates Caroline").
    after = rest[len(out) - 1].lower() if len(rest) >= len(out) else ""
    return out if len(out) == 1 or after in _AUX else out[:1]


def _substantive(w: str) -> bool:
    lw = w.lower()
    return not (
        lw in STOP_WORDS or lw in _FILLER or lw in _TIME_WORDS or lw in _CALENDAR or lw.isdigit()
    )


def _is_q(w: str, qset: set[str], qnames: set[str]) -> bool:
    lw = w.lower().rstrip("'’s") if w[:1].isupper() else w.lower()
    if lw in qnames or w.lower() in qnames:
        return True
    return w.lower() not in STOP_WORDS and _matches(stem(w.lower()), qset)


def _clauses(text: str) -> list[str]:
    """Clauses of a sentence; a comma list of short items ("salads, sandwiches, and desserts")
    stays whole."""
    text = re.sub(
        r"(\w+(?:\s\w+)?),\s+(?=(?:\w+(?:\s\w+)?,\s+)*(?:\w+(?:\s\w+)?,?\s+)?(?:and|or)\s)",
        r"\1 , ",
        text,
    )
    parts = re.split(r"[;:!?()\[\]“”\"]|(?<! ),\s|\.(?:\s|$)|\s[–—-]+\s|--", text)
    return [p.replace(" , ", ", ").strip() for p in parts if p and p.strip()]


def _tidy(toks: list[str]) -> list[str]:
    """A run of words with its leading verb, pronoun and filler cut, ended where a new clause
    starts, at most 10 words."""
    i = 0
    while i < len(toks) and (
        toks[i].lower() in _LEAD | _PREP | _STOP_AT | _TIME_WORDS
        or (toks[i].lower().endswith("ly") and len(toks[i]) > 4)  # "Thankfully, ..."
    ):
        i += 1
    out: list[str] = []
    for w in toks[i:]:
        lw = w.lower()
        if out and lw in _STOP_AT:
            break
        out.append(w)
        if len(out) >= 10:
            break
    while out and (
        out[-1].lower() in _LEAD | _DEICTIC | _CALENDAR | _PREP | {"before", "until"}
        or out[-1].lower() in STOP_WORDS
    ):
        out.pop()
    return out


def _first_clause(text: str, also: str = "") -> str:
    """`text` up to the end of its first clause (a stop, ?, !, ; or a dash), or up to `also`."""
    ends = r"[;!?]|\.(?:\s|$)|\s[–—-]+\s" + (f"|{also}" if also else "")
    return re.split(ends, text)[0]


def _cut(text: str) -> str:
    return " ".join(_tidy(words(_first_clause(text))) or words(text)[:12])
