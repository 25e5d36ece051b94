"""Evidence-first answers: a short, cited answer made from the retrieved memories with no model.

The retrieved memories are split into units (sentences, lines, steps, field values), each unit is
scored against the question (term overlap, embedder similarity, the answer type the question asks
for), and the best unit gives the answer: a span of it (a date, a name, a number with its unit,
the words after the matched verb), the steps of a procedure, or the sentence itself. Relative
times are resolved against the memory's own time. When nothing scores high enough the answer says
so and lists the nearest memories; nothing is ever made up.

This is the fallback for every model: a model may only rephrase it, after verification.
"""

from mirix_app.agent.answer.compose import (
    MIN_COVERAGE,
    MIN_OVERLAP,
    MIN_SIMILARITY,
    Answer,
    Span,
    answer,
)
from mirix_app.agent.answer.lexicon import QUESTION_WORDS, content_stems, stem, words
from mirix_app.agent.answer.question import Part, Question, analyze, question_window
from mirix_app.agent.answer.scoring import score_units
from mirix_app.agent.answer.spans import span_for
from mirix_app.agent.answer.units import Embed, Unit, memory_time, units_of

__all__ = [
    "MIN_COVERAGE",
    "MIN_OVERLAP",
    "MIN_SIMILARITY",
    "QUESTION_WORDS",
    "Answer",
    "Embed",
    "Part",
    "Question",
    "Span",
    "Unit",
    "analyze",
    "answer",
    "content_stems",
    "memory_time",
    "question_window",
    "score_units",
    "span_for",
    "stem",
    "units_of",
    "words",
]
