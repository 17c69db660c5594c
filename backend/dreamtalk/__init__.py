"""DREAM-Talk for Blender: emotional audio-to-ARKit face animation.

The package is split so that `dreamtalk.core` stays plain Python + numpy (the Blender add-on
vendors it); everything that imports torch lives elsewhere and is imported lazily.
"""

__version__ = "0.1.0"
