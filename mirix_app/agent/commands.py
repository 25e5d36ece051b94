"""Agent subcommands: chat, ask, process; `model` is in model_commands.py. Heavy imports happen
inside the handlers."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from mirix_app.agent import model_commands


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("chat", help="talk with your memory (streaming answers with citations)")
    p.add_argument("--no-remember", action="store_true", help="do not keep what you say as memory")
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("ask", help="ask one question and print the answer with its sources")
    p.add_argument("question")
    p.add_argument("--no-remember", action="store_true", help="do not keep the question as memory")
    p.add_argument("--json", action="store_true", help="print the answer and citations as JSON")
    p.add_argument(
        "--local",
        action="store_true",
        help="answer in this process even when the app is running (it answers faster)",
    )
    p.add_argument(
        "--mode",
        choices=["auto", "off", "phrase"],
        default="auto",
        help="auto: the model rephrases when its capability check allows; off: the extractive "
        "answer only; phrase: let the model try (its answer is still verified)",
    )
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("process", help="turn everything waiting in the inbox into memories now")
    p.add_argument("--limit", type=int, help="process at most this many items")
    p.set_defaults(func=cmd_process)

    model_commands.register(sub)


def _open(role: str = "chat") -> tuple[Any, Any]:
    """The memory core and the model of `role` (chat answers; the agent sorts the inbox)."""
    from mirix_app.agent.settings import ModelSettings, make_model
    from mirix_app.memory.core import MemoryCore

    core = MemoryCore.open()
    return core, make_model(ModelSettings.for_role(core.settings, role))


def _chat_model(core: Any) -> Any:
    from mirix_app.agent.settings import ModelSettings, make_model

    return make_model(ModelSettings.for_role(core.settings, "chat"))


def _print_citations(reply: Any) -> None:
    if reply.citations:
        print("\nsources:")
        for c in reply.citations:
            print(f"  {c.label()}")


def _print_reply(reply: Any) -> None:
    """The extractive answer at once; a verified rephrasing, when the model may give one, after."""
    print(reply.extractive.render(), flush=True)
    for ev in reply.events():
        if ev.kind == "final":
            print(
                f"\n{ev.text.splitlines()[0]}  (rephrased by the model, checked against the sources)"
            )
    _print_citations(reply)


def cmd_ask(args: argparse.Namespace) -> int:
    mode = None if args.mode == "auto" else args.mode
    request = {"question": args.question, "mode": mode, "remember": not args.no_remember}
    reply = None if args.local else _ask_running_app(request)
    if reply is None:
        from mirix_app.agent.chat import ChatAgent
        from mirix_app.memory.core import MemoryCore

        # One question, then exit: the embedder warms up while SQLite opens, and vector reads
        # skip importing chromadb. "off" needs no model; otherwise the model object only reads
        # its cached capability result and loads when it is asked to phrase.
        core = MemoryCore.open(one_shot=True)
        try:
            model = None if mode == "off" else _chat_model(core)
            agent = ChatAgent(core, model, mode=mode)
            answer = agent.ask(args.question, remember=not args.no_remember)
            if args.json:
                reply = answer.to_dict()
            else:
                _print_reply(answer)
                return 0
        finally:
            core.close()
    if args.json:
        from mirix_app.output import print_json

        print_json(reply)
    else:
        _print_reply_dict(reply)
    return 0


def _ask_running_app(request: dict[str, Any]) -> dict[str, Any] | None:
    """The running app's answer: its model, index and embedder are warm, and it owns the index."""
    from mirix_app.instance import ask_running
    from mirix_app.paths import Paths

    return ask_running(Paths.default(), request)


def _print_reply_dict(reply: dict[str, Any]) -> None:
    print(reply["extractive"])
    if reply.get("phrased"):
        first = str(reply["answer"]).splitlines()[0]
        print(f"\n{first}  (rephrased by the model, checked against the sources)")
    if reply.get("citations"):
        print("\nsources:")
        for c in reply["citations"]:
            print(f"  {c['label']}")


def cmd_chat(args: argparse.Namespace) -> int:
    from mirix_app.agent.chat import ChatAgent

    core, model = _open()
    agent = ChatAgent(core, model)
    print(f"mirix chat ({model.name}, {agent.mode}); empty line or Ctrl-D to leave")
    try:
        while True:
            try:
                question = input("you> ").strip()
            except EOFError:
                print()
                break
            if not question:
                break
            reply = agent.ask(question, remember=not args.no_remember)
            sys.stdout.write("mirix> ")
            _print_reply(reply)
    finally:
        core.close()
    return 0


def cmd_process(args: argparse.Namespace) -> int:
    from mirix_app.agent.job import ProcessingJob
    from mirix_app.agent.pipeline import Progress

    core, model = _open("agent")
    try:
        backlog = core.inbox_backlog()
        if not backlog:
            print("the inbox is empty")
            return 0
        print(f"{backlog} item(s) waiting; model {model.name}", file=sys.stderr)

        def progress(p: Progress) -> None:
            r = p.last
            print(
                f"\r{p.done} done, {p.backlog} waiting (last batch {r.items} in {r.seconds:.1f}s, "
                f"{r.unsorted} unsorted)",
                end="",
                file=sys.stderr,
                flush=True,
            )

        job = ProcessingJob(core, model)
        try:
            n = job.run(progress=progress, limit=args.limit)
        except KeyboardInterrupt:
            job.cancel()
            raise
        print(file=sys.stderr)
        print(f"processed {n} item(s); {core.inbox_backlog()} waiting")
    finally:
        core.close()
    return 0
