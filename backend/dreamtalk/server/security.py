"""Security helpers: loopback check, CurveZMQ key files and the ZAP authenticator (allow-list)."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from urllib.parse import urlsplit

import zmq
import zmq.auth
from zmq.auth.thread import ThreadAuthenticator

from ..core.errors import InputError


def is_local_endpoint(endpoint: str) -> bool:
    """True for ipc://, inproc:// and tcp:// endpoints bound to a loopback address."""
    scheme, _, rest = endpoint.partition("://")
    if scheme in ("ipc", "inproc"):
        return True
    host = urlsplit(f"//{rest}").hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # "*", an interface name or a host name: treat as reachable from outside


def check_bind(endpoint: str, curve: bool, insecure: bool) -> None:
    """Refuse to listen beyond loopback without CurveZMQ unless explicitly told to."""
    if not (curve or insecure or is_local_endpoint(endpoint)):
        raise InputError(
            f"refusing to listen on {endpoint} without encryption; add --curve (recommended) or --insecure"
        )


def generate_keys(folder: str | Path, name: str) -> tuple[Path, Path]:
    """Write `name.key` (public, share it) and `name.key_secret` (keep it) into `folder`."""
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    public, secret = Path(target, f"{name}.key"), Path(target, f"{name}.key_secret")
    if public.exists() or secret.exists():
        raise InputError(f"keys {public} / {secret} already exist; not overwriting them")
    public_file, secret_file = zmq.auth.create_certificates(str(target), name)
    Path(secret_file).chmod(0o600)
    return Path(public_file), Path(secret_file)


def load_server_keys(secret_file: str) -> tuple[bytes, bytes]:
    """(public, secret) Z85 keys from a `.key_secret` file."""
    try:
        public, secret = zmq.auth.load_certificate(secret_file)
    except (OSError, ValueError) as error:
        raise InputError(f"cannot read key {secret_file}: {error}") from None
    if secret is None:
        raise InputError(f"{secret_file} holds no secret key (pass the .key_secret file)")
    return public, secret


def start_authenticator(context: zmq.Context, allow: dict[str, str | None]) -> ThreadAuthenticator:
    """A ZAP handler admitting, per ZAP domain, only public keys that are `.key` files in its folder.

    `allow` maps a domain ("clients", "workers") to its folder; sockets pick one with `zap_domain`.
    """
    auth = ThreadAuthenticator(context)
    for domain, folder in allow.items():
        if folder is None or not Path(folder).is_dir() or not any(Path(folder).glob("*.key")):
            flag = "--allow" if domain == "clients" else "--allow-workers"
            raise InputError(f"{flag} folder {folder} holds no {domain[:-1]} public keys (*.key)")
    auth.start()
    for domain, folder in allow.items():
        auth.configure_curve(domain=domain, location=str(folder))
    return auth


def make_curve_server(sock: zmq.Socket, secret_file: str, domain: str = "clients") -> None:
    """Turn `sock` into a CurveZMQ server with the key pair in `secret_file`; peers checked in `domain`."""
    public, secret = load_server_keys(secret_file)
    sock.zap_domain = domain.encode()
    sock.curve_secretkey = secret
    sock.curve_publickey = public
    sock.curve_server = True


def make_curve_client(sock: zmq.Socket, secret_file: str, server_public_file: str) -> None:
    """Turn `sock` into a CurveZMQ client of the server whose public key is in `server_public_file`."""
    public, secret = load_server_keys(secret_file)
    try:
        server_public, _ = zmq.auth.load_certificate(server_public_file)
    except (OSError, ValueError) as error:
        raise InputError(f"cannot read server public key {server_public_file}: {error}") from None
    sock.curve_publickey = public
    sock.curve_secretkey = secret
    sock.curve_serverkey = server_public
