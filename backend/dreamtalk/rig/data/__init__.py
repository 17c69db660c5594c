"""Committed face data of the bundled rig (see rigs/derive_face_data.py and docs/rig.md)."""
