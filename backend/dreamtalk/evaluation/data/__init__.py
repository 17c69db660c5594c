"""Frozen evaluation artefacts (the emotion classifier checkpoint), shipped as package data."""
