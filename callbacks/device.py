"""Which device trains a trial, and its peak memory on a GPU."""

from __future__ import annotations

import platform

__all__ = ["DeviceProbe"]


class DeviceProbe:
    """Asks TensorFlow which accelerator Keras trains on and how much memory it used.

    Keras (TensorFlow backend) places a model on the first visible GPU when
    there is one, else on the CPU. Every question goes through
    ``tf.config``; on another Keras backend, or without TensorFlow, the
    device is reported as the CPU with no memory figure.

    Example:
        >>> probe = DeviceProbe()
        >>> probe.reset_peak()
        >>> probe.name()  # 'CPU (x86_64)' or e.g. 'GPU: NVIDIA H100 80GB HBM3'
        >>> probe.peak_bytes()  # None on a CPU
    """

    def _gpu(self):
        try:
            import tensorflow as tf
        except ImportError:  # pragma: no cover - tensorflow is a dependency
            return None, None
        gpus = tf.config.list_physical_devices("GPU")
        return tf, (gpus[0] if gpus else None)

    def name(self) -> str:
        """``"GPU: <name>"`` for the GPU Keras trains on, else ``"CPU (<arch>)"``."""
        tf, gpu = self._gpu()
        if gpu is None:
            return f"CPU ({platform.processor() or platform.machine()})"
        details = tf.config.experimental.get_device_details(gpu)
        return f"GPU: {details.get('device_name', gpu.name)}"

    def reset_peak(self) -> None:
        """Starts a new peak-memory measurement (no-op without a GPU)."""
        tf, gpu = self._gpu()
        if gpu is not None:
            tf.config.experimental.reset_memory_stats("GPU:0")

    def peak_bytes(self) -> int | None:
        """Peak GPU memory in bytes since `reset_peak`; ``None`` without a GPU."""
        tf, gpu = self._gpu()
        if gpu is None:
            return None
        return int(tf.config.experimental.get_memory_info("GPU:0")["peak"])
