"""CurveZMQ: only clients whose public key is on the allow-list get anything back."""

from __future__ import annotations

import pytest
from dreamtalk.core.client import BackendUnavailable, Client, CurveKeys
from dreamtalk.core.errors import InputError
from dreamtalk.server.__main__ import main
from dreamtalk.server.security import check_bind, is_local_endpoint
from server_helpers import echo_request, hang_guard, start_service  # noqa: F401


@pytest.fixture
def keys(tmp_path):
    """server + allowed client keys via `keys generate`; a second client key that is not allowed."""
    for name, folder in (("server", "server"), ("alice", "allowed"), ("mallory", "other")):
        assert main(["keys", "generate", "--name", name, "--dir", str(tmp_path / folder)]) == 0
    return tmp_path


@pytest.fixture
def curve_service(keys):
    svc = start_service(curve_secret=str(keys / "server" / "server.key_secret"), curve_allow=str(keys / "allowed"))
    yield svc
    svc.stop()


def _keys(folder, name: str) -> CurveKeys:
    return CurveKeys.load(folder / name, folder / "server" / "server.key")


def test_allowed_key_is_served(keys, curve_service):
    with Client(curve_service.endpoint, timeout=5, curve=_keys(keys, "allowed/alice.key_secret")) as client:
        assert client.hello()["protocol"] == "2.1"
        assert client.generate(echo_request(4))[0].num_frames == 10


def test_unknown_key_gets_no_reply_and_no_result(keys, curve_service):
    before = curve_service.stats()["finished"]
    mallory = _keys(keys, "other/mallory.key_secret")
    with Client(curve_service.endpoint, timeout=0.5, curve=mallory) as client:
        with pytest.raises(BackendUnavailable):
            client.hello()
        with pytest.raises(BackendUnavailable):
            client.generate(echo_request(5))
    with Client(curve_service.endpoint, timeout=0.5) as plain, pytest.raises(BackendUnavailable):
        plain.generate(echo_request(6))
    stats = curve_service.stats()
    assert stats["finished"] == before and stats["held"] == 0  # nothing of theirs ever ran


def test_keys_generate_never_overwrites(keys, capsys):
    secret = (keys / "allowed" / "alice.key_secret").read_bytes()
    assert main(["keys", "generate", "--name", "alice", "--dir", str(keys / "allowed")]) == 2
    assert "not overwriting" in capsys.readouterr().err
    assert (keys / "allowed" / "alice.key_secret").read_bytes() == secret


def test_loopback_rules():
    assert is_local_endpoint("tcp://127.0.0.1:5555") and is_local_endpoint("tcp://[::1]:5555")
    assert is_local_endpoint("ipc:///tmp/x") and is_local_endpoint("tcp://localhost:1")
    assert not is_local_endpoint("tcp://*:5555") and not is_local_endpoint("tcp://10.0.0.5:5555")
    check_bind("tcp://*:5555", curve=True, insecure=False)
    check_bind("tcp://*:5555", curve=False, insecure=True)
    with pytest.raises(InputError, match="--curve"):
        check_bind("tcp://*:5555", curve=False, insecure=False)


def test_curve_without_allow_list_is_refused(keys):
    with pytest.raises(InputError, match="no client public keys"):
        start_service(curve_secret=str(keys / "server" / "server.key_secret"), curve_allow=str(keys / "empty"))
