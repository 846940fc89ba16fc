"""Shared fixtures."""

from __future__ import annotations

import pytest


@pytest.fixture
def xla_allowed():
    """Keras silently drops ``jit_compile=True`` while TensorFlow's op determinism is on
    (the trainer turns it on, process-wide). Jit tests turn it off, then restore it."""
    from tensorflow.python.framework import config as tf_config

    was_enabled = tf_config.is_op_determinism_enabled()
    tf_config.disable_op_determinism()
    yield
    if was_enabled:
        tf_config.enable_op_determinism()
