"""Per-model capability check: may this model phrase chat answers?

A fixed set of short question-answering items (written for this check, generic: travel times,
recipe quantities, people, places, steps, dates) goes through `phrasing.phrase` and
`phrasing.verify` exactly as chat uses them. An item passes only when the phrased sentence is
verified against its evidence and still carries the expected fact. The score decides the mode:

- "phrase": chat answers may be phrased by the model (the draft is shown when a phrasing fails);
- "summarize": the model may only summarize, chat answers stay extractive;
- "off": the model is not used for chat at all.

The result is cached as JSON under the cache dir, keyed by the model's identity (a GGUF's path,
size, mtime and first-MB hash; an endpoint's URL and model name) and the check's version, so it
runs once per model file, not per start. No Qt here.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mirix_app.agent.models import Cancelled, Model, StopCheck
from mirix_app.agent.phrasing import Phrasing, phrase
from mirix_app.errors import MirixError
from mirix_app.paths import Paths, make_private_dir

# Bump when the items, the prompt or the verification change: older results no longer apply.
CHECK_VERSION = 1
MODE_PHRASE = "phrase"
MODE_SUMMARIZE = "summarize"
MODE_OFF = "off"
PHRASE_MIN_SCORE = 0.85
SUMMARIZE_MIN_SCORE = 0.5


@dataclass(frozen=True)
class CheckItem:
    id: str
    question: str
    evidence: tuple[str, ...]
    draft: str  # what the extractive answer would say
    expected: tuple[str, ...]  # every one must be in the phrased answer


# Written for this check (not from any benchmark). The drafts are shaped like extractive answers:
# the best evidence unit, sometimes with a label or list around the fact.
ITEMS: tuple[CheckItem, ...] = (
    CheckItem(
        "flight-time",
        "When does my flight to Lisbon leave?",
        (
            "Flight TP1345 to Lisbon departs at 07:55 from gate C14.",
            "Check-in closes 45 minutes before departure.",
        ),
        "Flight TP1345 to Lisbon departs at 07:55 from gate C14.",
        ("7:55",),
    ),
    CheckItem(
        "recipe-flour",
        "How much flour goes into the pancakes?",
        ("Pancakes: 200 g flour, 2 eggs, 300 ml milk, a pinch of salt.",),
        "Pancakes: 200 g flour, 2 eggs, 300 ml milk, a pinch of salt.",
        ("200",),
    ),
    CheckItem(
        "dentist",
        "Who is my dentist?",
        ("My dentist is Dr. Amara Okafor at the Riverside clinic.",),
        "My dentist is Dr. Amara Okafor at the Riverside clinic.",
        ("Okafor",),
    ),
    CheckItem(
        "parking",
        "Where did I park the car?",
        (
            "Parked the car on level 3 of the Elm Street garage.",
            "The garage closes at midnight.",
        ),
        "Parked the car on level 3 of the Elm Street garage.",
        ("Elm Street",),
    ),
    CheckItem(
        "router-first-step",
        "What is the first step to reset the router?",
        ("Router reset: unplug the power cable, wait 30 seconds, then plug it back in.",),
        "Unplug the power cable.",
        ("unplug",),
    ),
    CheckItem(
        "birthday",
        "When is Priya's birthday?",
        ("Priya's birthday is on 14 March.", "She likes dark chocolate."),
        "Priya's birthday is on 14 March.",
        ("14", "March"),
    ),
    CheckItem(
        "design-review",
        "What time is the design review on Thursday?",
        ("Design review moved to Thursday at 15:30 in room 4B.", "Bring the printed mockups."),
        "Design review moved to Thursday at 15:30 in room 4B.",
        ("15:30",),
    ),
    CheckItem(
        "risotto-rice",
        "How much rice goes into the risotto?",
        ("Risotto for four: 2 cups arborio rice, 1 onion, 5 cups stock, parmesan.",),
        "Risotto for four: 2 cups arborio rice.",
        ("2 cups",),
    ),
    CheckItem(
        "project-manager",
        "Who is the project manager for the Atlas launch?",
        (
            "Tomasz Nowak is the project manager for the Atlas launch.",
            "Lena Fischer handles the marketing.",
        ),
        "Tomasz Nowak is the project manager for the Atlas launch.",
        ("Tomasz",),
    ),
    CheckItem(
        "office-address",
        "What is the address of the new office?",
        ("The new office is at 27 Harbour Road, Leith.", "The move is planned for June."),
        "The new office is at 27 Harbour Road, Leith.",
        ("27 Harbour Road",),
    ),
    CheckItem(
        "train",
        "Which train do I take to Bristol?",
        ("Take the 08:12 train from Paddington to Bristol, platform 9.",),
        "Take the 08:12 train from Paddington to Bristol, platform 9.",
        ("8:12",),
    ),
    CheckItem(
        "tax-deadline",
        "When is the tax return due?",
        ("The tax return is due on 31 January.", "The accountant needs the receipts first."),
        "The tax return is due on 31 January.",
        ("31", "January"),
    ),
    CheckItem(
        "dog-name",
        "What is my neighbour's dog called?",
        ("The neighbour's dog is a beagle called Biscuit.",),
        "The neighbour's dog is a beagle called Biscuit.",
        ("Biscuit",),
    ),
    CheckItem(
        "bike-repair",
        "How much did the bike repair cost?",
        ("Paid 85 euros for the bike repair at Velo Fix.", "The chain was replaced."),
        "Paid 85 euros for the bike repair at Velo Fix.",
        ("85",),
    ),
    CheckItem(
        "eggs-boil",
        "How long should the eggs boil?",
        ("Boil the eggs for 7 minutes, then put them in cold water.",),
        "Boil the eggs for 7 minutes.",
        ("7 minutes",),
    ),
    CheckItem(
        "team-dinner",
        "Where is the team dinner?",
        ("Team dinner on Friday at Casa Rosa.", "Table booked for eight people."),
        "Team dinner on Friday at Casa Rosa.",
        ("Casa Rosa",),
    ),
    CheckItem(
        "party-guests",
        "How many people are coming to the party?",
        ("Party guest list: 12 people confirmed.", "Lena cannot come."),
        "Party guest list: 12 people confirmed.",
        ("12",),
    ),
    CheckItem(
        "batter-next-step",
        "What do I do after mixing the batter?",
        ("Mix the batter until smooth.", "Let the batter rest for 20 minutes.", "Heat the pan."),
        "Let the batter rest for 20 minutes.",
        ("20 minutes",),
    ),
    CheckItem(
        "login-bug",
        "Who fixed the login bug?",
        ("Ines Duarte fixed the login bug in release 2.4.",),
        "Ines Duarte fixed the login bug in release 2.4.",
        ("Ines",),
    ),
    CheckItem(
        "haircut",
        "When is my haircut?",
        ("Haircut booked for Saturday at 10:30 with Marco.",),
        "Haircut booked for Saturday at 10:30 with Marco.",
        ("10:30",),
    ),
)


@dataclass
class CapabilityResult:
    model_id: str  # readable identity: "llama:/path/model.gguf", "openai:http://…/v1 model"
    score: float
    passed: int
    total: int
    mode: str  # phrase | summarize | off
    seconds: float
    measured_at: str  # ISO UTC
    check_version: int = CHECK_VERSION
    failures: list[str] = field(default_factory=list)  # "item-id: reason"

    @property
    def allows_phrasing(self) -> bool:
        return self.mode == MODE_PHRASE

    def describe(self) -> str:
        """One line for `mirix model` and the settings page."""
        if self.mode == MODE_PHRASE:
            return (
                f"chat answers: phrased by the model (capability {self.score:.2f}, "
                f"{self.passed}/{self.total})"
            )
        if self.mode == MODE_SUMMARIZE:
            return (
                f"extractive chat answers; the model may only summarize (capability "
                f"{self.score:.2f}, {self.passed}/{self.total})"
            )
        return f"extractive only: model failed the capability check ({self.score:.2f})"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CapabilityResult:
        out = cls(
            model_id=str(data["model_id"]),
            score=float(data["score"]),
            passed=int(data["passed"]),
            total=int(data["total"]),
            mode=str(data["mode"]),
            seconds=float(data["seconds"]),
            measured_at=str(data["measured_at"]),
            check_version=int(data.get("check_version", 0)),
            failures=[str(f) for f in data.get("failures", [])],
        )
        if out.mode not in (MODE_PHRASE, MODE_SUMMARIZE, MODE_OFF):
            raise ValueError(f"unknown mode {out.mode!r}")
        return out


def mode_for(score: float) -> str:
    if score >= PHRASE_MIN_SCORE:
        return MODE_PHRASE
    if score >= SUMMARIZE_MIN_SCORE:
        return MODE_SUMMARIZE
    return MODE_OFF


_FACT_NUMBER = re.compile(r"\d+(?:[.:]\d+)?")


def _fact_text(text: str) -> str:
    """Lower case, one space between words, times without leading zeros (07:55 = 7:55)."""
    text = _FACT_NUMBER.sub(lambda m: re.sub(r"(?<!\d)0+(?=\d)", "", m.group()), text)
    text = text.replace(".", ":") if re.search(r"\d\.\d", text) else text
    return " ".join(re.sub(r"[^\w:]+", " ", text.lower()).split())


def has_fact(answer: str, fact: str) -> bool:
    """`fact` starts a word of `answer` ("unplug" in "unplugging"); a number must end there too
    ("7:55" is not in "7:556")."""
    want = _fact_text(fact)
    pattern = r"(?<![\w:])" + re.escape(want) + (r"(?![\w:])" if want[-1:].isdigit() else "")
    return re.search(pattern, _fact_text(answer)) is not None


def item_passes(item: CheckItem, result: Phrasing) -> tuple[bool, str]:
    """(passed, why not) for one item's phrasing."""
    if not result.ok:
        return False, "; ".join(result.verification.reasons)[:160] or "not verified"
    missing = [f for f in item.expected if not has_fact(result.text, f)]
    if missing:
        return False, f"lost the fact {missing[0]!r}"
    return True, ""


Progress = Callable[[int, int, int], None]  # (done, total, passed)


def run_check(
    model: Model,
    progress: Progress | None = None,
    should_stop: StopCheck | None = None,
    *,
    items: tuple[CheckItem, ...] = ITEMS,
) -> CapabilityResult:
    """Phrase and verify every item with `model` (Cancelled propagates from `should_stop`)."""
    start = time.perf_counter()
    passed = 0
    failures: list[str] = []
    for i, item in enumerate(items, 1):
        if should_stop is not None and should_stop():  # between items too (quit), not only tokens
            raise Cancelled("capability check cancelled")
        evidence = [(f"check_{n}", text) for n, text in enumerate(item.evidence)]
        result = phrase(model, item.question, evidence, item.draft, should_stop=should_stop)
        ok, why = item_passes(item, result)
        if ok:
            passed += 1
        else:
            failures.append(f"{item.id}: {why}")
        if progress is not None:
            progress(i, len(items), passed)
    total = len(items)
    score = passed / total if total else 0.0
    return CapabilityResult(
        model_id=describe_identity(model_identity(model)),
        score=round(score, 4),
        passed=passed,
        total=total,
        mode=mode_for(score),
        seconds=round(time.perf_counter() - start, 2),
        measured_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        failures=failures,
    )


# -- identity and cache -----------------------------------------------------------------------------
def model_identity(model: Model) -> dict[str, Any]:
    """What makes a model the same model for this check (never loads it). Raises MirixError
    (ModelMissing) when a model file is not there."""
    return model.identity()


def describe_identity(identity: dict[str, Any]) -> str:
    backend = identity.get("backend", "?")
    if "path" in identity:
        return f"{backend}:{identity['path']}"
    if "base_url" in identity:
        return f"{backend}:{identity['base_url']} {identity.get('model') or '(default)'}".strip()
    return f"{backend}:{identity.get('name', '?')}"


def cache_key(identity: dict[str, Any]) -> str:
    blob = json.dumps({"identity": identity, "check": CHECK_VERSION}, sort_keys=True)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:32]


def cache_dir(paths: Paths) -> Path:
    return paths.cache / "capability"


def cache_file(model: Model, paths: Paths) -> Path:
    return cache_dir(paths) / f"{cache_key(model_identity(model))}.json"


def cached_mode(model: Model, paths: Paths) -> CapabilityResult | None:
    """The cached result for this model, or None (not checked, file changed, cache broken).
    Runs nothing: at most a stat and a read of the model file's first MB."""
    try:
        path = cache_file(model, paths)
        data = json.loads(path.read_text(encoding="utf-8"))
        result = CapabilityResult.from_dict(data)
    except (MirixError, OSError, ValueError, KeyError, TypeError):
        return None
    if result.check_version != CHECK_VERSION:
        return None
    return result


def save_result(model: Model, paths: Paths, result: CapabilityResult) -> Path:
    """Write the result privately (dir 0700, file 0600), atomically."""
    path = cache_file(model, paths)
    make_private_dir(paths.cache)
    make_private_dir(path.parent)
    tmp = path.with_name(path.name + ".tmp")
    data = json.dumps(result.to_dict(), indent=1, sort_keys=True).encode("utf-8")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
        os.chmod(tmp, 0o600)  # O_CREAT keeps the mode of a leftover file
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return path


def ensure_mode(
    model: Model,
    paths: Paths,
    *,
    force: bool = False,
    progress: Progress | None = None,
    should_stop: StopCheck | None = None,
) -> CapabilityResult:
    """The cached result, or run the check once and cache it (`force` runs it again)."""
    if not force:
        cached = cached_mode(model, paths)
        if cached is not None:
            return cached
    result = run_check(model, progress, should_stop)
    save_result(model, paths, result)
    return result
