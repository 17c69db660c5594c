"""No request reads a file chosen by the client: every string field of a generate request set to a
path (absolute, relative, `..`) of a planted preset / text file, through a real service running the
EmoDiff (tiny model) and procedural engines; an audit hook records every file the process opens."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import dreamtalk
import numpy as np
import pytest
from dreamtalk.core.protocol import Message, encode, request_to_message
from dreamtalk.core.request import GenerateRequest
from server_helpers import RawPeer, hang_guard, start_service  # noqa: F401

REPO_ROOT = str(Path(dreamtalk.__file__).resolve().parents[2])
_OPENED: list[str] = []  # paths opened while _WATCH is set (the audit hook cannot be removed)
_WATCH = threading.Event()


def _audit(event: str, args: tuple) -> None:
    if _WATCH.is_set() and event == "open" and args and isinstance(args[0], str | bytes | Path):
        _OPENED.append(str(args[0]))


sys.addaudithook(_audit)


@pytest.fixture
def bait(tmp_path):
    """A valid preset file and a text file the client names; nothing may open them."""
    from dreamtalk.corpus.presets import builtin_preset, write_preset

    folder = tmp_path / "client_chosen"
    folder.mkdir()
    write_preset(builtin_preset("happy", 3), folder / "mypreset.json")
    (folder / "notes.txt").write_text("hello there")
    return folder


@pytest.fixture
def emodiff_service(tmp_path, monkeypatch):
    pytest.importorskip("torch")
    from dreamtalk.engines.installed import EMODIFF_ENV, LIP_ENV
    from dreamtalk.features import by_tag
    from emodiff_fixtures import tiny_model

    model_path = tmp_path / "emodiff.pt"
    tiny_model(audio_dim=by_tag("logmel-1").dim).save(model_path)
    monkeypatch.setenv(EMODIFF_ENV, str(model_path))
    monkeypatch.setenv(LIP_ENV, "off")
    svc = start_service(workers=1)
    yield svc
    svc.stop()


def _path_spellings(bait: Path) -> list[str]:
    stem = str(bait / "mypreset")
    up = "/".join([".."] * len(Path.cwd().parts)) + stem  # ../../..<absolute path> from the cwd
    preset_folder_relative = "../../../../../../../../.." + stem
    return [stem, up, preset_folder_relative, str(bait / "notes.txt"), "~/" + "mypreset", "file://" + stem]


def _request(**options) -> GenerateRequest:
    t = np.arange(8000) / 16000
    audio = (0.3 * np.sin(2 * np.pi * 150 * t)).astype(np.float32)
    return GenerateRequest(audio, 16000, steps=1, **options)


def _send_all(svc, messages: list[Message]) -> list[Message]:
    peer = RawPeer(svc.endpoint)
    replies = []
    try:
        for message in messages:
            peer.send(encode(message))
            while True:
                reply = peer.receive(120)
                assert reply is not None
                if reply.type in ("result", "error"):
                    replies.append(reply)
                    break
    finally:
        peer.close()
    return replies


FIELDS = ("emotion", "transcript", "engine", "emotion_keys", "session", "msg_id", "mix")


def _messages(bait: Path, engine: str, fields: tuple[str, ...] = FIELDS, spellings: int = 6) -> list[Message]:
    messages = []
    for path in _path_spellings(bait)[:spellings]:
        for field in fields:
            message = request_to_message(_request(engine=engine))
            if field in ("emotion", "transcript", "engine"):
                message.content["options"][field] = path
            elif field == "emotion_keys":
                message.content["options"]["emotion_keys"] = [{"time": 0.0, "emotion": path, "intensity": 1.0}]
            elif field == "session":
                message.session = path[:64]
            elif field == "msg_id":
                message.msg_id = path[-64:]
            else:
                message.content["options"]["emotion"] = f"happy:0.5+{path}:0.5"
            messages.append(message)
    return messages


@pytest.mark.parametrize("engine, fields, spellings", [
    ("emodiff", FIELDS, 6),
    ("procedural", ("emotion", "transcript", "emotion_keys", "mix"), 2),  # the other fields do not reach it
])
def test_no_request_reads_a_file_the_client_names(bait, emodiff_service, engine, fields, spellings):
    _OPENED.clear()
    _WATCH.set()
    try:
        replies = _send_all(emodiff_service, _messages(bait, engine, fields, spellings))
    finally:
        _WATCH.clear()
    touched = [path for path in _OPENED if "client_chosen" in path or "mypreset" in path]
    assert touched == [], f"the service opened client-named files: {touched[:3]}"
    assert all(r.type == "result" or r.get("code") == "bad_request" for r in replies), \
        [r.content for r in replies if r.type == "error"][:3]


def test_the_answer_does_not_tell_whether_a_named_file_exists(bait, emodiff_service):
    existing, missing = str(bait / "mypreset"), str(bait / "absent")
    messages = [request_to_message(_request(engine="emodiff")) for _ in range(2)]
    for message, name in zip(messages, (existing, missing), strict=True):
        message.content["options"]["emotion"] = name
    replies = _send_all(emodiff_service, messages)
    texts = [r.get("message", "").replace(existing, "NAME").replace(missing, "NAME") for r in replies]
    assert [r.get("code") for r in replies] == ["bad_request", "bad_request"] and texts[0] == texts[1]


def test_error_texts_are_short_and_name_no_server_path(emodiff_service):
    message = request_to_message(_request(engine="emodiff"))
    message.content["options"]["emotion"] = "x" * 900_000
    (reply,) = _send_all(emodiff_service, [message])
    assert (reply.get("code"), reply.parent_id) == ("bad_request", message.msg_id)
    assert len(reply.get("message")) < 300 and REPO_ROOT not in reply.get("message")


def test_engine_errors_sent_to_clients_name_no_server_path(tmp_path, monkeypatch):
    """A server whose checkpoint is missing: the client learns that, not where the server looked."""
    from dreamtalk.engines.installed import EMODIFF_ENV

    monkeypatch.setenv(EMODIFF_ENV, str(tmp_path / "secret_folder" / "none.pt"))
    svc = start_service(workers=1)
    try:
        (reply,) = _send_all(svc, [request_to_message(_request(engine="emodiff"))])
    finally:
        svc.stop()
    assert reply.type == "error" and "no EmoDiff checkpoint" in reply.get("message")
    assert "secret_folder" not in reply.get("message") and str(tmp_path) not in reply.get("message")
