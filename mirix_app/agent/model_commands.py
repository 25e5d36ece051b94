"""`mirix model`: which model does what (show, check), set one, find servers, the catalogue and
downloads. Heavy imports happen inside the handlers."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from mirix_app.errors import InvalidInput

_ROLES = ("chat", "agent")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "model", help="show or set the models (chat and agent), find servers, download models"
    )
    msub = p.add_subparsers(dest="model_command", metavar="ACTION")
    p.set_defaults(func=cmd_model_show)
    s = msub.add_parser("show", help="which model does what, and whether it loads")
    s.add_argument("--load", action="store_true", help="load it now and time a short answer")
    s.set_defaults(func=cmd_model_show)
    s = msub.add_parser(
        "check", help="measure whether the model may phrase chat answers (cached per model)"
    )
    s.add_argument("--force", action="store_true", help="run it again even if cached")
    s.add_argument("--role", choices=[*_ROLES, "both"], default="both", help="which role's model")
    s.set_defaults(func=cmd_model_check)
    s = msub.add_parser("set", help="use a GGUF file or an OpenAI-compatible endpoint")
    g = s.add_mutually_exclusive_group(required=True)
    g.add_argument("--path", help="a GGUF file for llama.cpp")
    g.add_argument("--default", action="store_true", help="the shipped SmolLM2-135M-Instruct")
    g.add_argument(
        "--endpoint", help="e.g. http://localhost:11434/v1 (Ollama), .../v1 (llama-server)"
    )
    g.add_argument("--catalogue", metavar="ID", help="a downloaded catalogue model")
    s.add_argument("--name", default="", help="model name at the endpoint")
    s.add_argument(
        "--role",
        choices=[*_ROLES, "both"],
        default="both",
        help="chat (answers), agent (sorts captures in the background) or both (default)",
    )
    s.add_argument(
        "--api-key", action="store_true", help="ask for an API key (kept in the OS keyring)"
    )
    s.add_argument("--threads", type=int, help="CPU threads for llama.cpp")
    s.add_argument("--ctx", type=int, help="context size for llama.cpp (2048-8192)")
    s.set_defaults(func=cmd_model_set)
    s = msub.add_parser(
        "servers", help="look for model servers on this computer (127.0.0.1 only) and list models"
    )
    s.add_argument("--add", metavar="ADDRESS", help="also look here from now on (host:port)")
    s.add_argument("--remove", metavar="ADDRESS", help="stop looking at an added address")
    s.add_argument("--all", action="store_true", help="also list addresses where nothing answered")
    s.add_argument("--json", action="store_true", help="print JSON")
    s.set_defaults(func=cmd_model_servers)
    s = msub.add_parser("catalogue", help="well-known instruct models to download, with estimates")
    s.add_argument(
        "--measure", action="store_true", help="measure the shipped model's speed again first"
    )
    s.add_argument("--json", action="store_true", help="print JSON")
    s.set_defaults(func=cmd_model_catalogue)
    s = msub.add_parser("download", help="download a catalogue model (verified by its sha256)")
    s.add_argument("id", help="the catalogue id (see: mirix model catalogue)")
    s.add_argument(
        "--use", choices=[*_ROLES, "both"], help="use it for this role once it is verified"
    )
    s.add_argument("--endpoint", help="a Hugging Face mirror (default: HF_ENDPOINT or the hub)")
    s.set_defaults(func=cmd_model_download)


def _role_groups(settings: Any) -> list[tuple[str, Any]]:
    """[(label, ModelSettings)]: one entry when both roles use one model."""
    from mirix_app.agent.settings import ModelSettings

    chat = ModelSettings.for_role(settings, "chat")
    agent = ModelSettings.for_role(settings, "agent")
    if chat.same_model(agent):
        return [("chat and agent", chat)]
    return [("chat", chat), ("agent", agent)]


def cmd_model_show(args: argparse.Namespace) -> int:
    import time

    from mirix_app.agent.settings import get_api_key, make_model
    from mirix_app.config import Settings
    from mirix_app.paths import Paths

    paths = Paths.default()
    groups = _role_groups(Settings.load(paths))
    code = 0
    for i, (roles, ms) in enumerate(groups):
        if i:
            print()
        model = make_model(ms)
        st = model.status()
        print(f"roles:    {roles}")
        print(f"backend:  {st.backend}")
        print(f"model:    {st.name}")
        print(f"where:    {st.detail or ms.endpoint}")
        if ms.backend == "openai":
            print(f"api key:  {'set' if get_api_key(ms.endpoint) else 'none'}")
        else:
            print(f"threads:  {ms.n_threads}, context {ms.n_ctx}")
        if st.error:
            print(f"problem:  {st.error}")
            code = 1
            continue
        print(f"answers:  {_capability_line(model, paths)}")
        if getattr(args, "load", False):
            start = time.perf_counter()
            model.load()
            loaded = time.perf_counter() - start
            start = time.perf_counter()
            text = model.complete(
                [{"role": "user", "content": "Say hello in three words."}], max_tokens=16
            )
            print(
                f"loaded in {loaded:.2f}s; answered in {time.perf_counter() - start:.2f}s: "
                f"{text.strip()[:60]!r}"
            )
    return code


def _capability_line(model: Any, paths: Any) -> str:
    from mirix_app.agent.capability import cached_mode

    result = cached_mode(model, paths)  # runs nothing
    if result is None:
        return "not checked yet: run `mirix model check`"
    return result.describe()


def cmd_model_check(args: argparse.Namespace) -> int:
    from mirix_app.agent.capability import cached_mode, ensure_mode
    from mirix_app.agent.settings import make_model
    from mirix_app.config import Settings
    from mirix_app.paths import Paths

    paths = Paths.default()
    groups = _role_groups(Settings.load(paths))
    role = getattr(args, "role", "both")
    if role != "both":
        groups = [(r, ms) for r, ms in groups if role in r.split(" and ")]
    code = 0
    for roles, ms in groups:
        model = make_model(ms)
        st = model.status()
        label = f"{roles}: " if len(groups) > 1 or role != "both" else ""
        if st.error:
            print(f"{label}problem:  {st.error}")
            code = 1
            continue
        if not args.force and cached_mode(model, paths) is not None:
            print(f"{label}{_capability_line(model, paths)} (cached; --force to run it again)")
            continue
        paths.ensure()
        print(
            f"checking {st.name} ({roles}): phrasing short answers from fixed evidence",
            file=sys.stderr,
        )

        def progress(done: int, total: int, passed: int) -> None:
            print(f"\r{done}/{total} items, {passed} passed", end="", file=sys.stderr, flush=True)

        try:
            result = ensure_mode(model, paths, force=True, progress=progress)
        finally:
            print(file=sys.stderr)
        print(f"{label}{result.describe()} in {result.seconds:.0f}s")
        for failure in result.failures:
            print(f"  failed {failure}")
    return code


def cmd_model_set(args: argparse.Namespace) -> int:
    import dataclasses
    import getpass
    from pathlib import Path

    from mirix_app.agent.settings import ModelSettings, set_api_key, set_role_model
    from mirix_app.config import Settings
    from mirix_app.paths import Paths

    paths = Paths.default()
    settings = Settings.load(paths)
    role = args.role
    current = ModelSettings.for_role(settings, "chat" if role == "both" else role)
    ms = dataclasses.replace(current)
    if args.path:
        path = Path(args.path).expanduser().absolute()
        if not path.is_file():
            raise InvalidInput(f"{path} is not a file", "give the path of a .gguf model file")
        ms.backend, ms.path = "llama", str(path)
    elif args.default:
        ms.backend, ms.path = "llama", ""
    elif args.catalogue:
        from mirix_app.agent import catalogue

        e = catalogue.entry(args.catalogue)
        found = catalogue.installed_path(paths, e)
        if found is None:
            raise InvalidInput(f"{e.name} is not downloaded yet", f"mirix model download {e.id}")
        ms.backend, ms.path = "llama", str(found)
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
    set_role_model(settings, role, ms)
    settings.save(paths)
    print(f"model ({'chat and agent' if role == 'both' else role}): {ms.describe()}")
    if args.api_key:
        set_api_key(ms.endpoint, getpass.getpass("API key (kept in the OS keyring): "))
        print("api key stored in the OS keyring")
    return 0


def cmd_model_servers(args: argparse.Namespace) -> int:
    from mirix_app.agent import discovery
    from mirix_app.agent.settings import ModelSettings
    from mirix_app.config import Settings
    from mirix_app.paths import Paths

    paths = Paths.default()
    settings = Settings.load(paths)
    ms = ModelSettings.from_settings(settings)
    if args.add or args.remove:
        if args.add:
            root = discovery.normalize_address(args.add)
            if root not in ms.servers:
                ms.servers.append(root)
        if args.remove:
            root = discovery.normalize_address(args.remove)
            ms.servers = [a for a in ms.servers if a != root]
        ms.save_into(settings)
        settings.save(paths)
    servers = discovery.discover(ms.servers, include_missing=True)
    if args.json:
        from mirix_app.output import print_json

        print_json([s.to_dict() for s in servers if s.found or args.all])
        return 0
    found = [s for s in servers if s.found]
    looked = ", ".join(s.root.removeprefix("http://") for s in servers)
    print(f"looked at {looked}", file=sys.stderr)
    if not found:
        print("no model server found on this computer")
    for s in servers:
        if not s.found:
            if args.all:
                print(f"{s.label} ({s.root}): {s.error}")
            continue
        print(f"{s.label} at {s.base_url}: {len(s.models)} model(s)")
        for name in s.models:
            print(f"  {name}")
            print(f"      use: mirix model set --endpoint {s.base_url} --name {name} --role both")
    return 0


def cmd_model_catalogue(args: argparse.Namespace) -> int:
    from mirix_app.agent import catalogue
    from mirix_app.paths import Paths

    paths = Paths.default()
    if args.measure or catalogue.reference_speed(paths) is None:
        print("measuring the shipped model's speed (about 10 s)…", file=sys.stderr)
        paths.ensure()
        ref = catalogue.measure_reference_speed(paths)
        print(ref.describe(), file=sys.stderr)
    rows = catalogue.estimates(paths)
    if args.json:
        from mirix_app.output import print_json

        print_json(
            [
                {**r.to_dict(), "installed": catalogue.installed_path(paths, r.entry) is not None}
                for r in rows
            ]
        )
        return 0
    for r in rows:
        e = r.entry
        have = " [downloaded]" if catalogue.installed_path(paths, e) else ""
        print(f"{e.id}{have}")
        print(f"  {e.name}, {e.size_bytes / 1e9:.2f} GB, {e.license}; {e.repo}/{e.filename}")
        print(f"  {r.ram_text()}; {r.speed_text()}")
    print(f"\nchecksums: {catalogue.SHA256_SOURCE}", file=sys.stderr)
    return 0


def cmd_model_download(args: argparse.Namespace) -> int:
    from mirix_app.agent import catalogue
    from mirix_app.agent.download import Download
    from mirix_app.paths import Paths

    paths = Paths.default().ensure()
    e = catalogue.entry(args.id)
    last = [-1]

    def progress(done: int, total: int) -> None:
        pct = int(done * 100 / total) if total else 0
        if pct != last[0]:
            last[0] = pct
            print(
                f"\r{done / 1e6:,.0f} of {total / 1e6:,.0f} MB ({pct}%)",
                end="",
                file=sys.stderr,
                flush=True,
            )

    dl = Download(e, paths, endpoint=args.endpoint, progress=progress)
    try:
        path = dl.run()
    except KeyboardInterrupt:
        print("\npaused: run the same command again to resume", file=sys.stderr)
        return 130
    finally:
        print(file=sys.stderr)
    print(f"downloaded and verified (sha256): {path}")
    if args.use:
        import argparse as _argparse

        ns = _argparse.Namespace(
            role=args.use,
            path=None,
            default=False,
            catalogue=e.id,
            endpoint=None,
            name="",
            threads=None,
            ctx=None,
            api_key=False,
        )
        cmd_model_set(ns)
    return 0
