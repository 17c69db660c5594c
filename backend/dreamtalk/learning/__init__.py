"""The torch plumbing every learned part of the backend shares (the EmoDiff and lip models, the neural
renderer): checkpoint files and the distributed process group. Depends on `core` only, so `models/`
and `render/` can both use it without depending on each other."""
