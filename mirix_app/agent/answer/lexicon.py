"""Words of the evidence-first answer: word lists, patterns, a light stemmer."""

from __future__ import annotations

import re

from mirix_app.memory.types import STOP_WORDS

_WORD = re.compile(r"[\w][\w'’.-]*[\w]|[\w]")


_SENT = re.compile(r"(?<=[.!?])\s+(?=[\"'“(]?[A-Z0-9])|\s+[–—]\s+|\n+")


_STEP_LINE = re.compile(r"^\s*(?:step\s*)?(\d{1,2})[.):]\s+(.+)$", re.I)


_FIELD = re.compile(r"^\s*([A-Za-z][\w ./&#-]{0,30}?)\s*[:：]\s+(\S.{0,200})$")


_PHOTO = re.compile(r"\s*\[shared a photo: ([^\]]*)\]")


_SESSION_TIME = re.compile(
    r",\s*\d{1,2}:\d{2}(?:\s*[–-]\s*\d{1,2}:\d{2})?(?:\s*\(\d+ captures?\))?\s*$"
)


_MARKER = re.compile(r"\s*\[(?:capture|source|conversation):[^\]]{0,120}\]")


_SPEAKER = re.compile(r"^([A-Z][\w .'-]{0,40}):\s+")


_NUMBER = re.compile(
    r"(?:[$€£¥]\s?)?\b\d[\d,]*(?:\.\d+)?\b(?:\s?(?:%|percent|[kKmM]\b))?"
    r"|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|"
    r"thirty|forty|fifty|hundred|a dozen|dozen|half|a couple|a few|several)\b",
    re.I,
)


_DURATION = re.compile(
    r"\b(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|"
    r"thirty|a few|a couple of|several|many)\s+(?:more\s+)?(?:years?|months?|weeks?|days?|hours?|"
    r"minutes?|mins?|seconds?|decades?)(?:\s+(?:ago|long|old))?\b"
    r"|\b(?:once|twice|\w+ times)\s+(?:a|per|every)\s+\w+\b|\bevery\s+(?:\w+\s+)?\w+\b|"
    r"\b(?:daily|weekly|monthly|yearly|annually)\b",
    re.I,
)


_PLACE = re.compile(
    r"\b(?:in|at|to|from|near|around|into|visited|visiting|visit|toward|towards)\s+"
    r"((?:the\s+)?[A-Z][\w'’-]+(?:\s+(?:of\s+|de\s+|the\s+)?[A-Z][\w'’-]+)*)"
)


_PLACE_NOUN = re.compile(
    r"\b(?:in|at|to|from|near|into)\s+((?:the|a|an|my|our|his|her|their)\s+(?:[\w'-]+\s+){0,2}?"
    r"(?:park|beach|lake|museum|cafe|café|restaurant|shelter|store|shop|school|office|library|"
    r"gym|studio|church|hospital|clinic|center|centre|hall|room|gallery|theater|theatre|mountains?|"
    r"forest|city|town|village|country|house|home|garden|camp|campground|station|airport|bar|"
    r"market|mall|conference|festival|concert|meeting)\b)",
    re.I,
)


_NAME = re.compile(
    r"\b((?:(?:Dr|Mr|Mrs|Ms|Prof)\.?\s+)?[A-Z][a-z'’-]+(?:\s+(?:[A-Z][a-z'’-]+|[A-Z]\.))*(?:\s+(?:de|da|van|von)\s+[A-Z][a-z]+)?)"
)


_RELATION = re.compile(
    r"\b((?:my|his|her|our|their)\s+(?:(?:best|old|close|new|younger|older|little|big)\s+)?"
    r"(?:mom|mother|dad|father|parents|aunt|uncle|sister|brother|sibling|cousin|grandma|"
    r"grandmother|grandpa|grandfather|friends?|husband|wife|partner|boyfriend|girlfriend|son|"
    r"daughter|kids|children|boss|manager|colleague|coworker|co-worker|mentor|teacher|neighbou?r|"
    r"dentist|doctor|therapist|team|family))\b",
    re.I,
)


_SENDER_Q = re.compile(
    r"\b(?:sent|send|from|wrote|write|emailed|invited|organi[sz]ed|signed)\b", re.I
)


_SENDER_KEYS = {"from", "sender", "organizer", "organiser", "author", "by", "host", "signed"}


_ORG = re.compile(
    r"\b(?:Clinic|Inc|Ltd|LLC|GmbH|Travel|Bank|School|University|Hospital|Hotel|Airlines?|"
    r"Airways|Group|Company|Corp|Center|Centre|Cafe|Café|Restaurant|Studio|Store|Shop|Team)\b"
)


_NOT_NAMES = frozenset(
    (
        "i i'm i've i'll the a my we you it hey hi hello thanks thank wow yes "
        "yeah no oh ok okay sure great that this there what lol haha also so and "
        "but awesome cool nice congrats sounds good glad sorry by btw last next "
        "today yesterday tomorrow inbox subject from to dear page"
    ).split()
)


_CALENDAR = frozenset(
    (
        "monday tuesday wednesday thursday friday saturday sunday january "
        "february march april may june july august september october november "
        "december"
    ).split()
)


# Words a question is made of besides its topic (chat's topic search drops them too).
QUESTION_WORDS = STOP_WORDS | frozenset(
    ("tell know about remember any some there ever please many much does did ago last like").split()
)


_QUESTION_NOISE = (QUESTION_WORDS - {"ago", "last"}) | frozenset(
    (
        "tell know about remember any "
        "some ever please many much "
        "does did do kind type sort kinds types sorts "
        "time date day long often old "
        "get got going go like mention "
        "mentioned say said think "
        "thing things happen happened "
        "recently there been being "
        "should must also other one "
        "ones us am s number numbers"
    ).split()
)


_AUX = frozenset(
    (
        "is are was were do does did can could will would should has have had am may might shall"
    ).split()
)


_LISTY = re.compile(
    r"\b(?:activities|things|ways|hobbies|events|books|items|kinds|types|places|names|"
    r"pets|foods|instruments|sports|games|countries|cities|artists|bands|songs|movies|both|all)\b",
    re.I,
)


_SPLIT_PARTS = re.compile(
    r"\s*(?:,|\band\b|\bor\b)\s+(?=(?:from\s+|at\s+|in\s+|on\s+|to\s+)?(?:what|which|when|where|who|whom|how)\b)",
    re.I,
)


# What a thing stands for, said in any of its ways: "symbolize", "stands for", "reminds me of".
_MEANS_Q = re.compile(
    r"(?i)\b(?:symboli[sz]\w*|represent\w*|stand\w* for|mean|means|meant|remind\w*|signif\w*)\b"
)
_MEANS = re.compile(
    r"(?i)\b(?:stands?\s+for|symboli[sz](?:es|ed)|(?:a\s+)?symbol\s+of|represent(?:s|ed)?|"
    r"means|meant|reminds?\s+(?:me|us|her|him|them|you)\s+of|(?:a\s+)?reminder\s+of|"
    r"signif(?:ies|ied))\s+"
)


# A favourite, said in any of its ways: "contemporary is my top pick", "my go-to".
_FAVOURITE_Q = re.compile(r"(?i)\b(?:favou?rite|fav|favs|preferred)\b")
_FAVOURITE = re.compile(
    r"(?i)\b(?:favou?rites?|fav|top\s+(?:pick|choice)|go-to|number\s+one|all-time\s+best)\b"
)


# Words that say how something felt or was: the answer to "how did she feel", "how does he
# describe it".
_FEELINGS = frozenset(
    (
        "amazing awesome wonderful fantastic incredible beautiful lovely magical peaceful calm "
        "serene relaxing relaxed cozy comfortable welcoming inviting warm heartwarming touching "
        "moving emotional inspiring inspired motivating motivated uplifting empowering powerful "
        "meaningful rewarding fulfilling special memorable unforgettable exciting excited thrilled "
        "thrilling happy glad joyful grateful thankful proud relieved hopeful optimistic "
        "confident determined nervous anxious scared afraid terrified worried stressed "
        "overwhelmed exhausted tired frustrated disappointed sad upset heartbroken lonely "
        "angry annoyed bored tough hard difficult challenging rough scary intense awful terrible "
        "horrible fun enjoyable delightful pleasant nice great cool stunning breathtaking gorgeous "
        "awestruck humbled humbling blessed lucky surprised shocked amazed impressed "
        "graceful expressive elegant free liberating safe supported loved accepted"
    ).split()
)


# Past forms that no suffix rule reaches: "felt" answers "how did you feel".
_IRREGULAR = dict(
    pair.split(":")
    for pair in (
        "felt:feel saw:see seen:see made:make went:go gone:go got:get gotten:get took:take "
        "taken:take bought:buy thought:think told:tell found:find gave:give given:give "
        "met:meet ran:run won:win wrote:write written:write began:begin begun:begin "
        "became:become came:come left:leave lost:lose kept:keep taught:teach brought:bring "
        "sent:send spent:spend built:build held:hold heard:hear sold:sell paid:pay said:say "
        "ate:eat eaten:eat drove:drive flew:fly sang:sing swam:swim chose:choose "
        "chosen:choose grew:grow knew:know drew:draw fell:fall caught:catch learnt:learn "
        "led:lead"
    ).split()
)


def stem(word: str) -> str:
    """A light suffix stripper: 'donated' and 'donate', 'paintings' and 'painting' meet."""
    w = word.lower().strip("'’.-")
    w = re.sub(r"['’]s$", "", w)
    w = _IRREGULAR.get(w, w)
    for suffix in (
        "ations",
        "ation",
        "ingly",
        "ings",
        "ing",
        "edly",
        "ies",
        "ied",
        "ed",
        "es",
        "s",
        "ly",
        "e",
    ):
        if suffix == "s" and w.endswith("ss"):
            continue  # 'class' and 'classes' meet at 'class'
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            w = w[: -len(suffix)]
            if suffix in ("ies", "ied"):
                w += "y"
            break
    if len(w) > 3 and w[-1] == w[-2] and w[-1] not in "aeiouls":
        w = w[:-1]  # 'running' -> 'runn' -> 'run'
    return w


def words(text: str) -> list[str]:
    return _WORD.findall(text)


def content_stems(text: str, noise: frozenset[str] | set[str] = _QUESTION_NOISE) -> list[str]:
    out: list[str] = []
    for w in words(text):
        lw = w.lower()
        if lw in noise or len(lw) < 2 or re.sub(r"['’]s$", "", lw) in noise:
            continue  # "what's" is a question word too
        # "invoice-worker-0", "db_staging": the parts are words too
        parts = (
            [lw, *(p for p in re.split(r"[-_./]+", lw) if len(p) >= 3)]
            if re.search(r"[-_./]", lw)
            else [lw]
        )
        for part in parts:
            if part in noise:
                continue
            s = stem(part)
            if s not in out:
                out.append(s)
    return out


def _matches(qs: str, unit_stems: set[str]) -> bool:
    if qs in unit_stems:
        return True
    if len(qs) >= 5:
        return any(len(u) >= 5 and (u.startswith(qs) or qs.startswith(u)) for u in unit_stems)
    return False


_FILLER = frozenset(
    (
        "i'm i've i'll i'd you're you've it's that's we're they're he's she's "
        "there's let's great really just so very thanks awesome cool glad wow hey "
        "yeah totally definitely pretty super now also too actually finally "
        "recently lately always still even some much lot lots stuff omg haha lol "
        "yes no oh well yep yup nope btw anyway okay ok"
    ).split()
)


_LEAD = (
    _FILLER
    | STOP_WORDS
    | frozenset(
        (
            "went go going got get getting have has had took take did been am love loved "
            "like liked think thought feel felt know guess want wanted decided started "
            "tried mean means said says about all both one kind sort type bit little"
        ).split()
    )
)


# Words that place a sentence in time: they say when, never what ("Last Fri I took my kids to a
# pottery workshop" adds no answer to "what did they make there").
_TIME_WORDS = frozenset(
    (
        "last next week weekend weeks month months year years day days ago "
        "yesterday today tomorrow tonight morning evening night afternoon mon "
        "tue tues wed thu thurs fri sat sun earlier later soon once before "
        "after while since"
    ).split()
)


_DEICTIC = frozenset(("last next ago yesterday today tomorrow tonight earlier later").split())


_TIME_KINDS = {"when", "time", "ago", "duration"}


def _trim(text: str, limit: int = 30) -> str:
    ws = text.split()
    return " ".join(ws[:limit]) + ("…" if len(ws) > limit else "")
