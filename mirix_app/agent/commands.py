"""Agent subcommands: chat, ask, process, model. Heavy imports happen inside the handlers."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from mirix_app.errors import InvalidInput


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("chat", help="talk with your memory (streaming answers with citations)")
    p.add_argument("--no-remember", action="store_true", help="do not keep what you say as memory")
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("ask", help="ask one question and print the answer with its sources")
    p.add_argument("question")
    p.add_argument("--no-remember", action="store_true", help="do not keep the question as memory")
    p.add_argument("--json", action="store_true", help="print the answer and citations as JSON")
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

    p = sub.add_parser("model", help="show or set the model (a GGUF file or an endpoint)")
    msub = p.add_subparsers(dest="model_command", metavar="ACTION")
    p.set_defaults(func=cmd_model_show)
    s = msub.add_parser("show", help="the model in use and whether it loads")
    s.add_argument("--load", action="store_true", help="load it now and time a short answer")
    s.set_defaults(func=cmd_model_show)
    s = msub.add_parser(
        "check", help="measure whether the model may phrase chat answers (cached per model)"
    )
    s.add_argument("--force", action="store_true", help="run it again even if cached")
    s.set_defaults(func=cmd_model_check)
    s = msub.add_parser("set", help="use a GGUF file or an OpenAI-compatible endpoint")
    g = s.add_mutually_exclusive_group(required=True)
    g.add_argument("--path", help="a GGUF file for llama.cpp")
    g.add_argument("--default", action="store_true", help="the shipped SmolLM2-135M-Instruct")
    g.add_argument(
        "--endpoint", help="e.g. http://localhost:11434/v1 (Ollama), .../v1 (llama-server)"
    )
    s.add_argument("--name", default="", help="model name at the endpoint")
    s.add_argument(
        "--api-key", action="store_true", help="ask for an API key (kept in the OS keyring)"
    )
    s.add_argument("--threads", type=int, help="CPU threads for llama.cpp")
    s.add_argument("--ctx", type=int, help="context size for llama.cpp (2048-8192)")
    s.set_defaults(func=cmd_model_set)


def _open() -> tuple[Any, Any]:
    from mirix_app.agent.settings import ModelSettings, make_model
    from mirix_app.memory.core import MemoryCore

    core = MemoryCore.open()
    return core, make_model(ModelSettings.from_settings(core.settings))


def _print_citations(reply: Any) -> None:
    if reply.citations:
        print("\nsources:")
        for c in reply.citations:
            print(f"  {c.label()}")


def _reply_json(reply: Any) -> dict[str, Any]:
    ans = reply.extractive
    return {
        "answer": reply.answer,
        "found": ans.found,
        "short": ans.short,
        "extractive": ans.render(),
        "mode": reply.mode,
        "phrased": reply.phrased,
        "rejected": reply.rejected,
        "citations": [
            {
                "id": c.memory_id,
                "type": c.type,
                "title": c.title,
                "sources": [s.to_dict() for s in c.sources],
            }
            for c in reply.citations
        ],
    }


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
    from mirix_app.agent.chat import ChatAgent

    core, model = _open()
    try:
        mode = None if args.mode == "auto" else args.mode
        reply = ChatAgent(core, model, mode=mode).ask(args.question, remember=not args.no_remember)
        if args.json:
            from mirix_app.cli import print_json

            reply.text()
            print_json(_reply_json(reply))
            return 0
        _print_reply(reply)
    finally:
        core.close()
    return 0


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
    from mirix_app.agent.pipeline import ProcessingJob, Progress

    core, model = _open()
    try:
        backlog = core.inbox.backlog()
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
        print(f"processed {n} item(s); {core.inbox.backlog()} waiting")
    finally:
        core.close()
    return 0


def cmd_model_show(args: argparse.Namespace) -> int:
    import time

    from mirix_app.agent.settings import ModelSettings, get_api_key, make_model
    from mirix_app.config import Settings
    from mirix_app.paths import Paths

    ms = ModelSettings.from_settings(Settings.load(Paths.default()))
    model = make_model(ms)
    st = model.status()
    print(f"backend:  {st.backend}")
    print(f"model:    {st.name}")
    print(f"where:    {st.detail or ms.endpoint}")
    if ms.backend == "openai":
        print(f"api key:  {'set' if get_api_key(ms.endpoint) else 'none'}")
    else:
        print(f"threads:  {ms.n_threads}, context {ms.n_ctx}")
    if st.error:
        print(f"problem:  {st.error}")
        return 1
    print(f"answers:  {_capability_line(model, Paths.default())}")
    if getattr(args, "load", False):
        start = time.perf_counter()
        model.load()
        loaded = time.perf_counter() - start
        start = time.perf_counter()
        text = model.complete(
            [{"role": "user", "content": "Say hello in three words."}], max_tokens=16
        )
        print(
            f"loaded in {loaded:.2f}s; answered in {time.perf_counter() - start:.2f}s: {text.strip()[:60]!r}"
        )
    return 0


def _capability_line(model: Any, paths: Any) -> str:
    from mirix_app.agent.capability import cached_mode

    result = cached_mode(model, paths)  # runs nothing
    if result is None:
        return "not checked yet: run `mirix model check`"
    return result.describe()


def cmd_model_check(args: argparse.Namespace) -> int:
    from mirix_app.agent.capability import cached_mode, ensure_mode
    from mirix_app.agent.settings import ModelSettings, make_model
    from mirix_app.config import Settings
    from mirix_app.paths import Paths

    paths = Paths.default()
    model = make_model(ModelSettings.from_settings(Settings.load(paths)))
    st = model.status()
    if st.error:
        print(f"problem:  {st.error}")
        return 1
    if not args.force and cached_mode(model, paths) is not None:
        print(f"{_capability_line(model, paths)} (cached; --force to run it again)")
        return 0
    paths.ensure()
    print(f"checking {st.name}: phrasing short answers from fixed evidence", file=sys.stderr)

    def progress(done: int, total: int, passed: int) -> None:
        print(f"\r{done}/{total} items, {passed} passed", end="", file=sys.stderr, flush=True)

    try:
        result = ensure_mode(model, paths, force=True, progress=progress)
    finally:
        print(file=sys.stderr)
    print(f"{result.describe()} in {result.seconds:.0f}s")
    for failure in result.failures:
        print(f"  failed {failure}")
    return 0


def cmd_model_set(args: argparse.Namespace) -> int:
    import getpass
    from pathlib import Path

    from mirix_app.agent.settings import ModelSettings, set_api_key
    from mirix_app.config import Settings
    from mirix_app.paths import Paths

    paths = Paths.default()
    settings = Settings.load(paths)
    ms = ModelSettings.from_settings(settings)
    if args.path:
        path = Path(args.path).expanduser().absolute()
        if not path.is_file():
            raise InvalidInput(f"{path} is not a file", "give the path of a .gguf model file")
        ms.backend, ms.path = "llama", str(path)
    elif args.default:
        ms.backend, ms.path = "llama", ""
    else:
        if not args.endpoint.startswith(("http://", "https://")):
            raise InvalidInput(
                "the endpoint must be an http(s) URL", "e.g. http://localhost:11434/v1"
            )
        ms.backend, ms.endpoint, ms.model = "openai", args.endpoint.rstrip("/"), args.name
    if args.threads:
        ms.n_threads = args.threads
    if args.ctx:
        if not 512 <= args.ctx <= 32768:
            raise InvalidInput("--ctx must be between 512 and 32768")
        ms.n_ctx = args.ctx
    if args.api_key and ms.backend != "openai":
        raise InvalidInput("--api-key goes with --endpoint")
    ms.save_into(settings)
    settings.save(paths)
    print(f"model: {ms.describe()}")
    if args.api_key:
        set_api_key(ms.endpoint, getpass.getpass("API key (kept in the OS keyring): "))
        print("api key stored in the OS keyring")
    return 0
