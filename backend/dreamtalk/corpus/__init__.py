"""The training corpus: synthesized emotional speech, real transcribed speech, users' own takes."""
