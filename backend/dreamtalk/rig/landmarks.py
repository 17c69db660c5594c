"""Named MediaPipe face-mesh landmark indices (the 468-point topology) used by the rig.

"Left"/"right" are the subject's (ARKit's) sides: in the rig frame the subject's left is +X.
Chains run from the subject's right (-X) to the left (+X).
"""

from __future__ import annotations

NUM_LANDMARKS = 468
CHIN = 152
FOREHEAD = 10
NOSE_TIP = 1
SUBNASALE = 2
MOUTH_CORNER_LEFT, MOUTH_CORNER_RIGHT = 291, 61

UPPER_LIP_INNER = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308)
LOWER_LIP_INNER = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308)
UPPER_LIP_OUTER = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291)
LOWER_LIP_OUTER = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291)

# Eye openings, corner to corner (outer -> inner for the left eye's upper/lower lids).
LEFT_EYE_UPPER = (263, 466, 388, 387, 386, 385, 384, 398, 362)
LEFT_EYE_LOWER = (263, 249, 390, 373, 374, 380, 381, 382, 362)
RIGHT_EYE_UPPER = (33, 246, 161, 160, 159, 158, 157, 173, 133)
RIGHT_EYE_LOWER = (33, 7, 163, 144, 145, 153, 154, 155, 133)

LEFT_BROW = (336, 296, 334, 293, 300, 285, 295, 282, 283, 276)  # inner -> outer, upper then lower
RIGHT_BROW = (107, 66, 105, 63, 70, 55, 65, 52, 53, 46)
LEFT_BROW_INNER, LEFT_BROW_OUTER = (336, 285), (300, 276)
LEFT_CHEEK = 425  # cheek centre, below the left eye
LEFT_NOSE_WING = 358  # alar crease, left
