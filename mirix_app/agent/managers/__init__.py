"""The meta manager and the six type managers.

The meta manager turns routed inbox items (plus the model's notes) into candidate memories for the
types that should change. Each type manager retrieves similar stored memories through the memory
core and decides add / update / merge / delete / noop: exact keys first (a fact's subject, a
document's title, a window's episode), the model only on close calls. `apply` then writes the
decisions inside the caller's batch and enforces the rules in code, whatever the model said:
- work from screens, files and imported conversations (content) may add memories, and may update,
  merge or delete only memories that content work made; never core blocks, never what the user
  made or said;
- an item whose text reads as instructions to an AI (injection.instruction_like), or a model decision
  taken on a prompt that showed such text, may only add: no update, merge or delete at all, even
  when the item is a message the user typed (pasted text is not the user's request);
- the user's own words may change anything but core blocks, which are rewritten, never deleted,
  and a rewrite may only shorten, never drop or invent a line;
- a question the user asked (statements.asked_by_user) is chat history only: one episodic memory,
  marked as a question (event_type "question", tag "chat-question", which search ranks below the
  evidence), added and never changing anything; whatever else is made of it is refused.
Vault values never reach a prompt.

Captures make activity sessions (agent/extract/sessions.py): the pipeline groups a batch's
captures by session, and the episodic manager grows the session's one memory (`session_candidate`)
or starts a new one linked to the last one of the same app and window.

One file a part: rules (candidates, decisions, what may change), meta (items -> candidates),
typed (the six type managers), apply (decisions -> the batch). `mirix_app.agent.managers`
re-exports them all.
"""

from __future__ import annotations

from mirix_app.agent.managers.apply import apply
from mirix_app.agent.managers.meta import candidates, session_candidate, turn_line
from mirix_app.agent.managers.rules import (
    ASKED,
    CHAT_FORGETS,
    EPISODE_CHARS,
    MULTI_KEYS,
    TAINTED,
    UNSORTED,
    UNTRUSTED_KINDS,
    Action,
    Applied,
    Candidate,
    Notes,
    grounded,
    made_from_content,
    may_delete,
    may_update,
    source_for,
    words,
)
from mirix_app.agent.managers.typed import (
    CoreManager,
    EpisodicManager,
    KeyedManager,
    ProceduralManager,
    ResourceManager,
    SemanticManager,
    TypeManager,
    VaultManager,
    faithful_rewrite,
    make_managers,
)

__all__ = [
    "ASKED",
    "CHAT_FORGETS",
    "EPISODE_CHARS",
    "MULTI_KEYS",
    "TAINTED",
    "UNSORTED",
    "UNTRUSTED_KINDS",
    "Action",
    "Applied",
    "Candidate",
    "CoreManager",
    "EpisodicManager",
    "KeyedManager",
    "Notes",
    "ProceduralManager",
    "ResourceManager",
    "SemanticManager",
    "TypeManager",
    "VaultManager",
    "apply",
    "candidates",
    "faithful_rewrite",
    "grounded",
    "made_from_content",
    "make_managers",
    "may_delete",
    "may_update",
    "session_candidate",
    "source_for",
    "turn_line",
    "words",
]
