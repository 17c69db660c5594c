"""Lip refinement (DREAM-Talk's second stage): re-calibrates only the ARKit MOUTH group of EmoDiff's
output from the audio and the emotion style (docs/emodiff.md, "Lip refinement")."""
