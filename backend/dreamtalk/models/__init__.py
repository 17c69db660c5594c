"""Learned models (torch lives here, never in `dreamtalk.core`)."""
