"""User-facing errors: one clear line, never a traceback."""


class DreamTalkError(Exception):
    """An error whose message is shown to the user as one line (CLI, server reply, Blender report)."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))


class InputError(DreamTalkError):
    """The user gave us something we cannot use (file, audio, curves, option)."""
