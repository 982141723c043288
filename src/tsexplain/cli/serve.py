"""``tsexplain serve``: the explorer (REST API + browser app) on a workspace or the demo."""

from __future__ import annotations

import argparse
import ipaddress
import sys

from tsexplain.exceptions import ParameterError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve",
        help="open the explorer (browser app + REST API) on a workspace or the built-in demo",
        description="Serve the explorer: a REST API under /api/v1 and a browser app. Without "
        "--workspace the demo workspace (the TSViz anomaly CNN on generated data) is created on "
        "first start, under ~/.cache/tsexplain/demo-workspace (or $TSEXPLAIN_DEMO_WORKSPACE), "
        "and reused afterwards.",
        epilog="example: tsexplain serve --port 8050",
    )
    p.add_argument("--workspace", default=None,
                   help="folder with models/ and datasets/ (default: the demo workspace)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default 127.0.0.1, this machine only)")
    p.add_argument("--port", type=int, default=8050, help="port (default 8050)")
    p.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                   help="also answer requests whose Host header is NAME (repeatable); by default "
                   "only localhost, 127.0.0.1, ::1 and the --host address are answered, which "
                   "stops web pages from reaching the API through DNS rebinding")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser tab")
    p.add_argument("--trust-code", action="store_true",
                   help="let factory models of the workspace (models/NAME/factory.json) import "
                        "and run their Python code; without it they are listed but not loaded")
    p.set_defaults(run=run)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def run(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from tsexplain.server.app import create_app
        from tsexplain.server.config import Settings, default_demo_workspace
        from tsexplain.server.demo_workspace import ensure_demo_workspace
    except ImportError as err:
        print(f"tsexplain serve: error: {err.name} is missing; install the server extra: "
              "pip install 'tsexplain[server]'", file=sys.stderr)
        return 2
    if not 0 < args.port < 65536:
        raise ParameterError(f"--port must be 1..65535, got {args.port}")
    if args.workspace is None:
        workspace = ensure_demo_workspace(default_demo_workspace())
    else:
        from pathlib import Path

        workspace = Path(args.workspace).expanduser()
        if not workspace.is_dir():
            raise FileNotFoundError(f"--workspace {workspace} is not a folder")
    import torch

    torch.set_num_threads(max(1, min(torch.get_num_threads(), 2)))
    allowed = list(args.allow_host)
    if args.host not in ("0.0.0.0", "::") and not is_loopback(args.host):
        allowed.append(args.host)
    env_allowed = Settings.from_env().allowed_hosts
    settings = Settings.from_env(workspace=workspace, host=args.host, port=args.port,
                                 allowed_hosts=[*env_allowed, *allowed])
    if args.trust_code:
        from tsexplain.server.workspace import Workspace

        app = create_app(settings, Workspace(settings.workspace, model_replicas=settings.model_replicas,
                                             cache_entries=settings.cache_entries, trust_code=True))
    else:
        app = create_app(settings)
    shown = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    url = f"http://{'[' + shown + ']' if ':' in shown else shown}:{args.port}/"
    if not is_loopback(args.host):
        print(f"WARNING: binding to {args.host} exposes the explorer to other machines; it has no "
              "authentication. Use --host 127.0.0.1 unless you mean it.", file=sys.stderr)
    print(f"tsexplain explorer on {url}  (workspace {workspace}; API docs {url}api/v1/docs; "
          "Ctrl-C to stop)", flush=True)
    if not args.no_browser:
        import threading
        import webbrowser

        threading.Timer(1.0, lambda: webbrowser.open(url)).start()
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0
