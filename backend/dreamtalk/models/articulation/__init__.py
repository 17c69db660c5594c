"""The articulation detector (issue 18): a frame-wise phone classifier on the audio features whose p/b/m and
open-vowel probabilities close and open the lips after lip refinement (`enforce.articulate`).

Direction of dependency: core, procedural (closing the lips), learning -> articulation; the engines use it.
"""
