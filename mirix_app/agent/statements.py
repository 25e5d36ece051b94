"""What the user's words state and what they ask: first-person facts, questions, quotes.

"my manager is Bob" is a fact about the user; "When is my flight to Porto?" states nothing and is
kept as chat history only. Conservative patterns (they rarely misfire); no model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mirix_app.memory.inbox import InboxItem
from mirix_app.safety.secrets import find_secrets, has_marker


@dataclass
class Fact:
    """A statement in the user's (or a speaker's) own words: "my manager is Bob"."""

    owner: str  # "user" or a speaker's name
    key: str  # "manager"
    value: str  # "Bob"
    core: bool = False  # a stable trait that belongs in the core human block

    @property
    def name(self) -> str:
        return f"{self.owner}'s {self.key}" if self.owner != "user" else f"my {self.key}"

    @property
    def sentence(self) -> str:
        who = "The user's" if self.owner == "user" else f"{self.owner}'s"
        return f"{who} {self.key} is {self.value}."

    @property
    def tag(self) -> str:
        return f"fact:{self.owner.lower()}/{self.key.lower()}"


_QUAL = r"(?:new |current |old |former |previous |latest )?"
_TITLE = r"(?:(?:dr|mr|mrs|ms|mx|prof|st)\.\s*)?"  # "my dentist is Dr. Okafor": the title is part
_MY_X_IS = re.compile(
    r"(?i)\bmy " + _QUAL + r"(?P<key>[a-z][a-z-]*(?: [a-z][a-z-]*)?) (?:is|are|=) (?:now )?"
    r"(?P<value>" + _TITLE + r"[^.,;!?\n]{1,60})"
)
_Y_IS_MY_X = re.compile(
    r"(?i)\b(?P<value>[A-Z][\w'-]*(?: [A-Z][\w'-]*){0,2}) is (?:now )?my "
    + _QUAL
    + r"(?P<key>[a-z][a-z-]*(?: [a-z][a-z-]*)?)\b"
)
_NAME = re.compile(r"(?i)\b(?:my name is|call me)\s+(?P<value>[A-Z][\w'-]*(?: [A-Z][\w'-]*)?)")
_LIVE = re.compile(r"(?i)\bI (?P<verb>live|work) (?:in|at|for) (?P<value>[^.,;!?\n]{2,60})")
_LIKE = re.compile(
    r"(?i)\bI (?:really )?(?P<verb>like|love|prefer|hate|dislike) (?P<value>[^.,;!?\n]{2,60})"
)
_CLAUSE_START = {
    "that",
    "how",
    "what",
    "when",
    "where",
    "why",
    "which",
    "who",
    "it",
    "it's",
    "this",
    "these",
    "those",
    "you",
    "your",
    "you're",
    "them",
    "him",
    "her",
    "all",
}
_NOT_A_VALUE = {"what", "when", "where", "who", "whom", "whose", "which", "why", "how", "this", "that",
    "it", "there", "here", "these", "those"}  # fmt: skip
_BAD_KEYS = {
    "name",
    "password",
    "pin",
    "code",
    "question",
    "problem",
    "point",
    "guess",
    "bad",
    "turn",
}


def user_facts(text: str, owner: str = "user") -> list[Fact]:
    """Facts stated in the first person. Conservative: only patterns that rarely misfire."""
    facts: list[Fact] = []
    for m in _NAME.finditer(text):
        facts.append(Fact(owner, "name", m.group("value").strip(), core=True))
    for rx in (_MY_X_IS, _Y_IS_MY_X):
        for m in rx.finditer(text):
            key = m.group("key").lower().strip()
            value = m.group("value").strip()
            if key in _BAD_KEYS or key.split()[0] in _BAD_KEYS or len(value) < 2:
                continue
            if value.lower().startswith(("a ", "an ", "the ", "not ", "very ", "so ")):
                continue
            if re.sub(r"['’]s$", "", value.split()[0].lower()) in _NOT_A_VALUE:
                continue  # "When is my flight to ...", "That is my car": no name is given
            facts.append(Fact(owner, key, value))
    for m in _LIVE.finditer(text):
        key = "home" if m.group("verb").lower() == "live" else "workplace"
        facts.append(Fact(owner, key, m.group("value").strip(), core=True))
    for m in _LIKE.finditer(text):
        verb = m.group("verb").lower()
        key = "dislikes" if verb in ("hate", "dislike") else "likes"
        value = m.group("value").strip()
        # "I love how you ...", "I love that it ...": a clause about something else, not a like.
        if value.split()[0].lower() in _CLAUSE_START:
            continue
        facts.append(Fact(owner, key, value, core=True))
    # A fact whose value holds a secret is the vault's business, not memory text.
    return [f for f in facts if not find_secrets(f.value) and not has_marker(f.value)]


# -- questions -------------------------------------------------------------------------------------
# A question states nothing: "When is my flight to Porto?" once became the "fact" "my flight to is
# When". The user's questions are kept as chat history only (see managers.candidates), and facts
# come only from the sentences of a message that state something.
_WH = {"what", "when", "where", "who", "whom", "whose", "which", "why", "how"}
_AUX = {
    "is", "are", "was", "were", "do", "does", "did", "can", "could", "will", "would", "should",
    "have", "has", "am", "shall", "may", "might", "must", "isn't", "aren't", "wasn't", "don't",
    "doesn't", "didn't", "can't", "couldn't", "won't", "wouldn't", "shouldn't", "haven't",
    "hasn't",
}  # fmt: skip
# After an auxiliary, a subject makes a question ("is my flight ...", "did Bob call"); anything
# else is an imperative or a statement ("have a nice day", "Will is my brother").
_SUBJECT = {
    "i", "you", "we", "he", "she", "they", "it", "my", "your", "our", "his", "her", "their",
    "the", "this", "that", "these", "those", "there", "anyone", "anybody", "someone", "somebody",
    "anything", "something", "any", "mirix", "u",
}  # fmt: skip
# After a wh-word with no "?", a subject makes a clause of a statement ("When I'm at work my phone
# is on silent", "where my keys are is a mystery") and an article an exclamation ("what a day");
# anything else a question ("when is ...", "what day is ...", "how many ...").
_WH_CLAUSE = _SUBJECT | {"a", "an"}
_RECALL = re.compile(
    r"(?i)^(?:tell me|show me|remind me|find|search|look up|look for|recall|list|give me|"
    r"i (?:wonder|forgot|can't remember|cannot remember|don't remember|do not remember|need to "
    r"know|want to know|would like to know|'d like to know)\b[^.!?]*?\b(?:what|when|where|who|"
    r"which|why|how|if|whether)|do you (?:know|remember))\b"
)
# "Can you remember that ...", "could you note ...": a request to keep something, a statement.
_KEEP_REQUEST = re.compile(
    r"(?i)^(?:(?:can|could|would|will) you (?:please )?|please |do )(?:remember|note|save|store|"
    r"keep|record|write down|add|memori[sz]e)\b"
)
_LEAD = re.compile(
    r"(?i)^(?:(?:hey|hi|hello|ok|okay|so|and|but|also|um|uh|well|please|pls|mirix|quick "
    r"question)\b[\s,:;!-]*)+"
)
_FIRST_WORDS = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)?")
_ABBREV = {"dr", "mr", "mrs", "ms", "st", "prof", "no", "vs", "etc", "e.g", "i.e", "jr", "sr", "mt"}
_SENTENCE_END = re.compile(r"[.!?]+[\"')\]]*(?:\s+|$)|\n+")


def sentences(text: str) -> list[str]:
    """A message's sentences ("Dr. Okafor" and "J. Smith" stay whole)."""
    out: list[str] = []
    start = 0
    for m in _SENTENCE_END.finditer(text):
        end = m.end()
        piece = text[start : m.start()]
        last = piece.rsplit(None, 1)[-1].lower() if piece.strip() else ""
        if (
            "\n" not in m.group(0)
            and m.group(0).startswith(".")
            and end < len(text)
            and (last.rstrip(".") in _ABBREV or len(last) == 1)
        ):
            continue  # an abbreviation or an initial, not the end of a sentence
        s = text[start:end].strip()
        if s:
            out.append(s)
        start = end
    rest = text[start:].strip()
    if rest:
        out.append(rest)
    return out


def is_question_sentence(sentence: str) -> bool:
    s = _LEAD.sub("", sentence.strip().lstrip("\"'“‘(*-• ")).strip()
    if not s:
        return False
    if _KEEP_REQUEST.match(s):
        return False  # "can you remember that my wifi password is ...?" asks to keep, states
    if s.rstrip("\"'”’)] ").endswith("?"):
        return True
    if _RECALL.match(s):
        return True
    ws = [w.lower().replace("’", "'") for w in _FIRST_WORDS.findall(s)[:2]]
    if not ws:
        return False
    first, nxt = ws[0], (ws[1] if len(ws) > 1 else "")
    head, _, tail = first.partition("'")
    if head in _WH:
        # "what's", "when's": a contraction of an auxiliary; "which gate ...": always a question.
        clause = nxt.partition("'")[0] in _WH_CLAUSE
        return bool(tail) or head in ("which", "whose", "whom") or not clause
    if first in _AUX:
        raw_next = _FIRST_WORDS.findall(s)[1:2]
        return nxt in _SUBJECT or bool(raw_next and raw_next[0][:1].isupper())
    return False


def is_question(text: str) -> bool:
    """Whether a message asks something (any of its sentences is a question)."""
    return any(is_question_sentence(s) for s in sentences(text or ""))


def stated(text: str) -> str:
    """The sentences of a message that state something (its questions left out), one per line."""
    return "\n".join(s for s in sentences(text) if not is_question_sentence(s))


def asked_by_user(item: InboxItem) -> bool:
    """A question the user typed to mirix (not an imported turn, not another speaker's)."""
    meta = item.meta or {}
    return (
        item.kind == "chat"
        and meta.get("role", "user") == "user"
        and "speaker" not in meta
        and not meta.get("message_id")
        and is_question(item.text or "")
    )


_QUOTED = re.compile(
    r"\"[^\"]{15,}\"|“[^”]{15,}”|«[^»]{15,}»|(?<!\w)'[^']{15,}'(?!\w)|```[\s\S]*?```"
)


def unquoted(text: str) -> str:
    """A message without the longer passages it quotes: "summarise this: '...'" states nothing
    about the user in the quoted part."""
    return _QUOTED.sub(" ", text)
