"""Read sentences for the corpus (issue 18): parsing the fortune files, the dictionary filter, the
train/dev pools, and the read-sentence shards."""

import numpy as np
import pytest

from dreamtalk.core.errors import DreamTalkError, InputError
from dreamtalk.corpus import prose

DICTIONARY = {w: () for w in "a the cat sat on mat and it was very happy to see you all again today".split()}


def test_cookies_split_into_sentences_without_attributions_or_quotes():
    cookie = '"The cat sat on the mat." It was happy!\n\t-- Somebody Famous, 1901\nAnd to see you?'
    assert prose.split_sentences(cookie) == ["The cat sat on the mat.", "It was happy!", "And to see you?"]
    assert prose.split_sentences("Mr. Smith and Dr. Who sat. Then they left.") == [
        "Mr. Smith and Dr. Who sat.", "Then they left."]


@pytest.mark.parametrize("sentence, kept", [
    ("The cat sat on the mat.", True),
    ("It was very happy to see you all again today!", True),
    ("The cat sat.", False),  # too short
    ("The dog sat on the mat.", False),  # 'dog' has no pronunciation in this dictionary
    ("The cat sat on the mat", False),  # no end
    ("The cat sat on 2 mats.", False),  # digits
    ("the cat sat on the mat.", False),  # not a sentence start
])
def test_only_plain_dictionary_sentences_are_speakable(sentence, kept):
    assert prose.speakable(sentence, DICTIONARY) is kept


def test_fortune_files_give_each_sentence_once_and_skip_pictures(tmp_path):
    (tmp_path / "cookie").write_text("The cat sat on the mat.\n%\nThe cat sat on the mat. It was happy to see you.\n%\n",
                                     encoding="latin-1")
    (tmp_path / "cookie.dat").write_bytes(b"\x00\x01binary index")
    (tmp_path / "art").write_text("It was happy to see you all.\n%\n", encoding="latin-1")
    assert prose.sentences_in(tmp_path, DICTIONARY) == ("The cat sat on the mat.", "It was happy to see you.")


def test_pools_are_disjoint_and_hold_no_validation_sentence():
    from dreamtalk.evaluation.validation_set import SENTENCES

    try:
        train, dev = prose.pool("train"), prose.pool("dev")
    except DreamTalkError as exc:
        pytest.skip(f"Debian fortunes unavailable here: {exc}")
    assert len(train) > 5000 and len(dev) > 500 and not set(train) & set(dev)
    assert 0.05 < len(dev) / (len(train) + len(dev)) < 0.15
    normalised = {s.lower().rstrip(".!?") for s in (*train, *dev)}
    assert not normalised & {s.lower().rstrip(".!?") for s in SENTENCES}
    rng = np.random.default_rng(0)
    assert all(prose.prose_sentence(rng) in train for _ in range(20))
    with pytest.raises(InputError, match="train or dev"):
        prose.pool("test")


def test_read_sentence_items_are_training_sentences_spoken_by_either_family():
    from dreamtalk.corpus.build import prose_item

    try:
        items = [prose_item(0, 0, i) for i in range(8)]
        stems = {s.rstrip(".!?") for s in prose.pool("train")}
    except DreamTalkError as exc:
        pytest.skip(f"Debian fortunes or MBROLA voices unavailable here: {exc}")
    assert {i.record["source"] for i in items} == {"espeak", "mbrola"}
    for item in items:
        r = item.record
        assert r["text_source"] == "prose" and r["id"].startswith("pr-0-00000-") and r["phones"]
        assert r["text"].rstrip(".!?") in stems  # the ending may be fitted to the emotion
        assert item.curves.num_frames > 25 and len(item.audio) > 16000
    again = prose_item(0, 0, 3)
    assert again.record["text"] == items[3].record["text"] and np.array_equal(again.audio, items[3].audio)
