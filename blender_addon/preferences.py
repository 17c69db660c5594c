"""Add-on preferences: backend address, timeout, CurveZMQ keys, local backend, connection test."""

from __future__ import annotations

import sys
from dataclasses import dataclass

import bpy
from bpy.props import FloatProperty, StringProperty

from . import state

ADDON_ID = __package__


@dataclass(frozen=True)
class BackendSettings:
    """A plain snapshot of the preferences, safe to hand to a worker thread."""

    address: str = "tcp://127.0.0.1:5555"
    timeout: float = 30.0
    curve: tuple[str, str, str] | None = None  # CurveZMQ (client public, client secret, server public), Z85


class DREAMTALK_AP_preferences(bpy.types.AddonPreferences):
    bl_idname = ADDON_ID

    address: StringProperty(name="Backend address", default=BackendSettings.address)
    timeout: FloatProperty(name="Timeout (s)", min=1.0, max=3600.0, default=BackendSettings.timeout)
    server_public_key: StringProperty(name="Server public key", description="CurveZMQ (Z85); empty: no encryption")
    public_key: StringProperty(name="Client public key", description="CurveZMQ (Z85)")
    secret_key: StringProperty(name="Client secret key", subtype="PASSWORD", description="CurveZMQ (Z85)")
    python_path: StringProperty(
        name="Backend Python", subtype="FILE_PATH", default="",
        description="Python environment where the dreamtalk package is installed (for 'Start local backend')",
    )

    def draw(self, context) -> None:
        draw_preferences(self, self.layout)


def draw_preferences(prefs, layout) -> None:
    """Preferences layout (a function so that tests can call it with a mock layout)."""
    col = layout.column()
    col.prop(prefs, "address")
    col.prop(prefs, "timeout")
    box = col.box()
    box.label(text="CurveZMQ encryption (optional)")
    for name in ("server_public_key", "public_key", "secret_key"):
        box.prop(prefs, name)
    box = col.box()
    box.prop(prefs, "python_path")
    row = box.row()
    row.operator("dreamtalk.start_backend", icon="PLAY")
    row.operator("dreamtalk.stop_backend", icon="PAUSE")
    box.label(text=f"Local backend: {state.LOCAL_BACKEND.describe()}")
    box = col.box()
    box.operator("dreamtalk.test_connection", icon="LINKED")
    hello = state.HELLO
    if hello.running:
        box.label(text="Connecting...", icon="TIME")
    elif hello.state.status == "error":
        box.label(text=hello.state.message, icon="ERROR")
    elif hello.state.status == "done":
        for line in hello.state.message.split("\n"):
            box.label(text=line)


def settings(context=None) -> BackendSettings:
    """The current preferences as a `BackendSettings` (defaults when the add-on is not enabled)."""
    context = context or bpy.context
    addon = context.preferences.addons.get(ADDON_ID)
    if addon is None:
        return BackendSettings()
    prefs = addon.preferences
    curve = None
    if prefs.server_public_key:
        curve = (prefs.public_key, prefs.secret_key, prefs.server_public_key)
    return BackendSettings(prefs.address, prefs.timeout, curve)


def python_path(context=None) -> str:
    """Configured backend interpreter, else the one running Blender's Python."""
    context = context or bpy.context
    addon = context.preferences.addons.get(ADDON_ID)
    return (addon.preferences.python_path if addon else "") or sys.executable


classes = (DREAMTALK_AP_preferences,)
