"""Plain-Python pieces shared by the backend and the Blender add-on (never imports torch or bpy)."""
