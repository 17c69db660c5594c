"""EmoDiff: the emotion-conditioned diffusion model of DREAM-Talk (arXiv 2312.13578, stage 1).

Layout (diffusers/k-diffusion style): `denoiser` (transformer, knows no schedule), `scheduler`
(parameter-free DDPM/DDIM), `sampling` (samplers over a denoise callable), `guidance` (classifier-free
guidance wrapper), `long` (windowing / stitching / autoregressive / inpainting compositions),
`conditions` (the time-position-aware condition track and emotion controls), `data`, `train`,
`checkpoint`, `engine` (the `dreamtalk.engines` adapter).
"""
