"""Photoreal render, part 2: a Face-Vid2Vid-style neural renderer that refines part 1's frames.

config (settings) <- conditioning, blocks <- networks, discriminator, losses <- checkpoint <- train,
inference; driving, pairs, store, synthetic, prepare build the training data from videos; cli adds
`dreamtalk renderer ...` and `dreamtalk train renderer`. Depends on part 1 (render/) and core, never on
models/ or engines/. No trained weights ship (docs/render.md, "Neural renderer").
"""
