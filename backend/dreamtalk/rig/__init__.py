"""The bundled ARKit head: MediaPipe face-mesh topology, neutral shape, head parts and 52 shape keys.

Pure numpy (no bpy): `rigs/build_rig.py` turns `shapes.build_model()` into Blender data, and the
photoreal stage can use `shapes.landmark_blendshapes()` to move the 468 landmarks as the rig moves.
See docs/rig.md.
"""
