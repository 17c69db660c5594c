"""CLI subcommands of the backend service: `serve`, `worker`, `keys generate`.

The main CLI calls `add_subcommands(subparsers)`; `python -m dreamtalk.server` runs them stand-alone.
Every subparser sets `func(args) -> int`.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from urllib.parse import urlsplit

import zmq

from ..core.errors import DreamTalkError
from ..learning.devices import check_name
from .config import ServerConfig
from .logs import setup_logging

DEFAULT_KEYS = Path("~/.config/dreamtalk/keys")  # `keys generate` writes here by default
PLUGINS_ENV = "DREAMTALK_ENGINE_PLUGINS"  # comma-separated 'module:function' engine plugins


def add_subcommands(subparsers: argparse._SubParsersAction) -> None:
    """Add `serve`, `worker` and `keys` to the main CLI's subparsers."""
    serve = subparsers.add_parser("serve", help="run the backend service (or a scale-out broker)")
    serve.add_argument("--bind", default="tcp://127.0.0.1:5555", help="client endpoint (default %(default)s)")
    serve.add_argument("--broker", action="store_true", help="run a broker for `dreamtalk worker` processes")
    serve.add_argument("--backend-bind", default="tcp://127.0.0.1:5556", help="broker: where workers connect")
    serve.add_argument("--control-bind", default="tcp://127.0.0.1:5557", help="broker: control broadcast")
    serve.add_argument("--curve", action="store_true", help="CurveZMQ encryption + client key allow-list")
    serve.add_argument("--server-key", type=Path, help="server .key_secret file (default KEYS/server.key_secret)")
    serve.add_argument("--allow", type=Path, help="folder of allowed client .key files (default KEYS/clients)")
    serve.add_argument("--allow-workers", type=Path, help="broker: allowed worker .key files (default KEYS/workers)")
    serve.add_argument("--keys", type=Path, default=DEFAULT_KEYS, help="key folder (default %(default)s)")
    serve.add_argument("--insecure", action="store_true", help="allow a non-loopback bind without --curve")
    _add_worker_options(serve)
    serve.set_defaults(func=run_serve)

    worker = subparsers.add_parser("worker", help="run engines for a `dreamtalk serve --broker`")
    worker.add_argument("--connect", required=True, help="the broker's backend endpoint, e.g. tcp://gpu-box:5556")
    worker.add_argument("--control", help="the broker's control endpoint (default: --connect port + 1)")
    worker.add_argument("--curve", action="store_true", help="CurveZMQ to a `serve --broker --curve`")
    worker.add_argument("--key", type=Path, help="this worker's .key_secret (default KEYS/worker.key_secret)")
    worker.add_argument("--server-public", type=Path, help="the broker's server.key (default KEYS/server.key)")
    worker.add_argument("--keys", type=Path, default=DEFAULT_KEYS, help="key folder (default %(default)s)")
    _add_worker_options(worker)
    worker.set_defaults(func=run_worker)

    keys = subparsers.add_parser("keys", help="CurveZMQ key management")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    generate = keys_sub.add_parser("generate", help="write NAME.key (public) and NAME.key_secret")
    generate.add_argument("--name", default="client", help="key name (default %(default)s; use 'server' for the server)")
    generate.add_argument("--dir", type=Path, default=DEFAULT_KEYS, help="output folder (default %(default)s)")
    generate.set_defaults(func=run_keys_generate)


def _add_worker_options(parser: argparse.ArgumentParser) -> None:
    defaults = ServerConfig()
    add = parser.add_argument
    add("--workers", type=int, default=1,
        help="engine threads (default %(default)s); with CUDA thread i runs on GPU i mod G, so N GPUs want N or more")
    add("--device", default="auto", help="where EmoDiff, the lip refiner, the articulation detector and the Whisper "
        "encoder run: auto (CUDA when torch sees a GPU, else cpu), cpu, cuda or cuda:N (default %(default)s); hello "
        "reports it")
    add("--batch-requests", type=int, default=0,
        help="concurrent requests on one device sampled in one call (default 0: as many as worker threads on it)")
    add("--max-queue", type=int, default=defaults.max_queue, help="queued jobs before 'busy' (default %(default)s)")
    add("--max-jobs-per-client", type=int, default=defaults.max_jobs_per_client, help="default %(default)s")
    add("--max-audio-seconds", type=float, default=defaults.max_audio_seconds, help="default %(default)s")
    add("--max-message-mb", type=float, default=defaults.max_message_bytes / 2**20, help="default %(default)s")
    add("--job-timeout", type=float, default=defaults.job_timeout, help="seconds (default %(default)s)")
    add("--heartbeat", type=float, default=defaults.heartbeat_interval, help="seconds (default %(default)s)")
    add("--client-timeout", type=float, default=defaults.client_timeout, help="seconds (default %(default)s)")
    add("--engine-plugin", action="append", default=None,
        help=f"'module:function' registering extra engines (repeatable; also ${PLUGINS_ENV})")
    add("--log-level", default="info", choices=("debug", "info", "warning", "error"))


def config_from_args(args: argparse.Namespace) -> ServerConfig:
    """ServerConfig from parsed `serve` / `worker` options."""
    plugins = list(args.engine_plugin or []) + [p for p in os.environ.get(PLUGINS_ENV, "").split(",") if p]
    config = ServerConfig(
        workers=args.workers, device=check_name(args.device), batch_requests=max(0, args.batch_requests),
        max_queue=args.max_queue,
        max_jobs_per_client=args.max_jobs_per_client, max_audio_seconds=args.max_audio_seconds,
        max_message_bytes=int(args.max_message_mb * 2**20), job_timeout=args.job_timeout,
        heartbeat_interval=args.heartbeat, client_timeout=args.client_timeout, engine_plugins=tuple(plugins),
    )
    keys = args.keys.expanduser()
    if hasattr(args, "bind"):
        config.bind, config.insecure = args.bind, args.insecure
        config.backend_bind, config.control_bind = args.backend_bind, args.control_bind
        if args.curve:
            config.curve_secret = str(args.server_key or keys / "server.key_secret")
            config.curve_allow = str(args.allow or keys / "clients")
            config.curve_allow_workers = str(args.allow_workers or keys / "workers")
    else:
        config.connect, config.control = args.connect, args.control or next_port(args.connect)
        if args.curve:
            config.curve_key = str(args.key or keys / "worker.key_secret")
            config.curve_server_public = str(args.server_public or keys / "server.key")
    return config


def next_port(endpoint: str) -> str:
    """tcp://host:5556 -> tcp://host:5557 (the broker's default control endpoint beside its backend)."""
    parts = urlsplit(endpoint)
    if parts.scheme != "tcp" or parts.port is None:
        raise DreamTalkError(f"cannot guess the control endpoint from {endpoint}; pass --control")
    return endpoint[: endpoint.rindex(":")] + f":{parts.port + 1}"


def run_serve(args: argparse.Namespace) -> int:
    from .broker import Broker
    from .service import Service

    setup_logging(args.log_level)
    config = config_from_args(args)
    return _guarded(lambda: (Broker(config) if args.broker else Service(config)).serve_forever())


def run_worker(args: argparse.Namespace) -> int:
    from .service import Service

    setup_logging(args.log_level)
    config = config_from_args(args)
    return _guarded(lambda: Service(config).serve_forever())


def run_keys_generate(args: argparse.Namespace) -> int:
    from .security import generate_keys

    def write() -> int:
        public, secret = generate_keys(args.dir.expanduser(), args.name)
        print(f"public key: {public}\nsecret key: {secret} (keep it private)")
        return 0

    return _guarded(write)


def _guarded(action) -> int:
    try:
        return action()
    except DreamTalkError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (OSError, zmq.ZMQError) as error:  # address in use, bad endpoint ...
        print(f"error: {error}", file=sys.stderr)
        return 2
