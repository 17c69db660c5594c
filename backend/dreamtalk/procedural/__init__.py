"""The procedural engine: timed phones + prosody -> ARKit-52 curves (also the corpus teacher)."""
