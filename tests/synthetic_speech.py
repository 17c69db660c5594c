"""Phone sequences with matching buzz audio for engine tests that need no speech synthesizer."""

from dreamtalk.corpus.synthetic import Phone, buzz_utterance

__all__ = ["Phone", "make_utterance"]


def make_utterance(words: int = 40, seed: int = 0, rate: int = 16000):
    """(audio, rate, phones): CVC syllables with pauses; vowels loud, consonants quiet."""
    return buzz_utterance(words, seed, rate)
