"""DREAM-Talk for Blender: emotional audio -> ARKit-52 face animation from a sidebar panel.

Network work runs on a worker thread (`jobs`), results are applied on the main thread from a timer.
Outside Blender (pure-Python tests of `retarget`, `reduce`, `jobs`) bpy is absent and nothing registers.
"""

from __future__ import annotations

try:
    import bpy
except ModuleNotFoundError:  # imported without Blender
    bpy = None

if bpy is not None:
    from . import io_curves, operators, panels, preferences, properties

    classes = (
        *properties.classes, *preferences.classes, *operators.classes, *io_curves.classes, *panels.classes,
    )

    def register() -> None:
        for cls in classes:
            bpy.utils.register_class(cls)
        properties.register()
        panels.register()

    def unregister() -> None:
        from . import state

        state.GENERATE.cancel()
        state.LOCAL_BACKEND.stop()
        for timer in (operators.drain_generate, operators.drain_hello):
            if bpy.app.timers.is_registered(timer):
                bpy.app.timers.unregister(timer)
        panels.unregister()
        properties.unregister()
        for cls in reversed(classes):
            bpy.utils.unregister_class(cls)
