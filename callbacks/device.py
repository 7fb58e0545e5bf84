"""Which device trains a trial, and its peak memory on a GPU, per Keras backend."""

from __future__ import annotations

import platform

import keras

__all__ = ["DeviceProbe"]


class DeviceProbe:
    """Asks the Keras backend which accelerator it trains on and its peak memory.

    Keras places a model on the first visible GPU when there is one, else on
    the CPU. Each backend is asked in its own terms:

    * TensorFlow: ``tf.config`` (device name; peak memory since `reset_peak`).
    * PyTorch: ``torch.cuda`` (device name; peak allocated memory since
      `reset_peak`).
    * JAX: ``jax.devices()`` (device kind). JAX cannot reset its peak memory
      counter, so there is no per-trial peak: `peak_bytes` is ``None``.

    On a CPU, or a backend without such a query, the device is reported as
    the CPU with no memory figure.

    Example:
        >>> probe = DeviceProbe()
        >>> probe.reset_peak()
        >>> probe.name()  # 'CPU (x86_64)' or e.g. 'GPU: NVIDIA H100 80GB HBM3'
        >>> probe.peak_bytes()  # None on a CPU
    """

    def __init__(self, backend: str | None = None):
        self.backend = backend or keras.backend.backend()

    def name(self) -> str:
        """``"GPU: <name>"`` for the GPU Keras trains on, else ``"CPU (<arch>)"``."""
        gpu = self._gpu_name()
        if gpu is None:
            return f"CPU ({platform.processor() or platform.machine()})"
        return f"GPU: {gpu}"

    def reset_peak(self) -> None:
        """Starts a new peak-memory measurement (no-op without a GPU)."""
        if self.backend == "tensorflow":
            tf, gpu = self._tf_gpu()
            if gpu is not None:
                tf.config.experimental.reset_memory_stats("GPU:0")
        elif self.backend == "torch":
            torch = self._torch_cuda()
            if torch is not None:
                torch.cuda.reset_peak_memory_stats()

    def peak_bytes(self) -> int | None:
        """Peak GPU memory in bytes since `reset_peak`; ``None`` without a GPU."""
        if self.backend == "tensorflow":
            tf, gpu = self._tf_gpu()
            if gpu is None:
                return None
            return int(tf.config.experimental.get_memory_info("GPU:0")["peak"])
        if self.backend == "torch":
            torch = self._torch_cuda()
            return None if torch is None else int(torch.cuda.max_memory_allocated())
        return None

    # -- each backend's query --------------------------------------------------
    def _gpu_name(self) -> str | None:
        if self.backend == "tensorflow":
            tf, gpu = self._tf_gpu()
            if gpu is None:
                return None
            details = tf.config.experimental.get_device_details(gpu)
            return details.get("device_name", gpu.name)
        if self.backend == "torch":
            torch = self._torch_cuda()
            return None if torch is None else torch.cuda.get_device_name(0)
        if self.backend == "jax":
            import jax  # noqa: PLC0415 - only on the JAX backend

            device = jax.devices()[0]
            return None if device.platform == "cpu" else device.device_kind
        return None

    @staticmethod
    def _tf_gpu():
        try:
            import tensorflow as tf  # noqa: PLC0415 - only on its backend
        except ImportError:  # pragma: no cover - the backend needs it
            return None, None
        gpus = tf.config.list_physical_devices("GPU")
        return tf, (gpus[0] if gpus else None)

    @staticmethod
    def _torch_cuda():
        import torch  # noqa: PLC0415 - only on the PyTorch backend

        return torch if torch.cuda.is_available() else None
