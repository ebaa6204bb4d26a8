"""Small helpers shared by the visualizer and its backends.

Argument normalisation (one value or one per item), type and length checks with clear errors,
colour conversion, heat-map overlays and reading pixels back from a matplotlib canvas.
matplotlib is imported inside the functions that need it.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch


def tensor2ndarray(value: Any) -> Any:
    """Return ``value`` as a numpy array when it is a tensor, unchanged otherwise.

    Args:
        value: A tensor or anything else.

    Returns:
        ``value.detach().cpu().numpy()`` for tensors, else ``value``.
    """
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return value


def value2list(value: Any, valid_type: type | tuple[type, ...], expand_dim: int) -> Any:
    """Repeat a single value ``expand_dim`` times; leave sequences as they are.

    Args:
        value: One value (an instance of ``valid_type``) or a list of values.
        valid_type: The type(s) a single value has.
        expand_dim: How many copies a single value becomes.

    Returns:
        A list of ``expand_dim`` copies, or ``value`` unchanged.
    """
    if isinstance(value, valid_type):
        return [value] * expand_dim
    return value


def check_type(name: str, value: Any, valid_type: type | tuple[type, ...]) -> None:
    """Raise ``TypeError`` unless ``value`` is an instance of ``valid_type``.

    Args:
        name: Parameter name used in the message.
        value: The value to check.
        valid_type: Accepted type(s).
    """
    if not isinstance(value, valid_type):
        raise TypeError(f'`{name}` should be {valid_type}, but got {type(value).__name__}: '
                        f'{value!r:.80}')


def check_length(name: str, value: Any, valid_length: int) -> None:
    """Raise ``ValueError`` when a list ``value`` has fewer than ``valid_length`` items.

    Args:
        name: Parameter name used in the message.
        value: The value to check; non-lists pass.
        valid_length: The minimum length.
    """
    if isinstance(value, list) and len(value) < valid_length:
        raise ValueError(f'The length of `{name}` must be at least {valid_length} (one per '
                         f'item drawn), but got {len(value)}.')


def check_type_and_length(name: str, value: Any, valid_type: type | tuple[type, ...],
                          valid_length: int) -> None:
    """Run :func:`check_type` then :func:`check_length`."""
    check_type(name, value, valid_type)
    check_length(name, value, valid_length)


def color_val_matplotlib(colors: Any) -> Any:
    """Convert 0-255 RGB tuples to matplotlib's 0-1 floats; strings pass through.

    Args:
        colors: A colour name, an ``(r, g, b)`` tuple in 0-255, or a list of those.

    Returns:
        The same structure with tuples scaled to 0-1.
    """
    if isinstance(colors, str):
        return colors
    if isinstance(colors, tuple):
        if len(colors) != 3 or not all(0 <= c <= 255 for c in colors):
            raise ValueError(f'An RGB colour tuple needs three values in 0-255, got {colors}.')
        return tuple(c / 255 for c in colors)
    if isinstance(colors, list):
        return [color_val_matplotlib(color) for color in colors]
    raise TypeError(f'A colour must be a str, an RGB tuple or a list of them, but got '
                    f'{type(colors).__name__}.')


def color_str2rgb(color: str) -> tuple:
    """Convert a matplotlib colour name (``'g'``, ``'red'``, ``'#ff0000'``) to 0-255 RGB.

    Args:
        color: A matplotlib colour string.

    Returns:
        ``(r, g, b)`` integers in 0-255.
    """
    from matplotlib import colors as mcolors
    return tuple(int(round(channel * 255)) for channel in mcolors.to_rgb(color))


def _to_uint8_heatmap(feat_map: np.ndarray) -> np.ndarray:
    feat = feat_map.astype(np.float64)
    low, high = feat.min(), feat.max()
    scaled = (feat - low) / (high - low) if high > low else np.zeros_like(feat)
    from matplotlib import colormaps
    rgba = colormaps['jet'](scaled)
    return (rgba[..., :3] * 255).astype(np.uint8)


def convert_overlay_heatmap(feat_map: np.ndarray | torch.Tensor, img: np.ndarray | None = None,
                            alpha: float = 0.5) -> np.ndarray:
    """Colour a 2-D feature map with the jet colormap and optionally blend it onto an image.

    Args:
        feat_map: A ``(H, W)`` map (or ``(1, H, W)``).
        img: Optional RGB ``(H, W, 3)`` uint8 image to overlay onto; same size as the map.
        alpha: Weight of the heat map in the blend. Defaults to 0.5.

    Returns:
        An RGB uint8 image.
    """
    feat = tensor2ndarray(feat_map)
    if feat.ndim == 3 and feat.shape[0] == 1:
        feat = feat[0]
    if feat.ndim != 2:
        raise ValueError(f'`feat_map` must be 2-D (H, W), but got shape {feat.shape}.')
    heat = _to_uint8_heatmap(feat)
    if img is None:
        return heat
    if img.shape[:2] != heat.shape[:2]:
        raise ValueError(f'The image {img.shape[:2]} and feature map {heat.shape[:2]} must '
                         'have the same height and width; resize one of them first.')
    blended = (1 - alpha) * img.astype(np.float64) + alpha * heat
    return np.clip(blended, 0, 255).astype(np.uint8)


def wait_continue(figure: Any, timeout: float = 0, continue_key: str = ' ') -> int:
    """Block until ``continue_key`` is pressed, the window closes or ``timeout`` passes.

    Args:
        figure: A matplotlib figure shown in an interactive backend.
        timeout: Seconds to wait; 0 waits for ever.
        continue_key: The key that continues. Defaults to space.

    Returns:
        0 when continued by key or timeout, 1 when the window was closed.
    """
    import matplotlib
    from matplotlib.backend_bases import CloseEvent
    backend = matplotlib.get_backend().lower()
    if backend in ('agg', 'pdf', 'svg', 'ps', 'cairo') or 'inline' in backend:
        return 0  # nothing to wait for without an interactive window
    canvas = figure.canvas
    received: list = []

    def handler(event: Any) -> None:
        received.append(event)
        canvas.stop_event_loop()

    while True:
        received.clear()
        ids = [canvas.mpl_connect(name, handler) for name in ('key_press_event', 'close_event')]
        try:
            canvas.start_event_loop(timeout)
        finally:
            for cid in ids:
                canvas.mpl_disconnect(cid)
        if received and isinstance(received[0], CloseEvent):
            return 1
        if not received or received[0].key == continue_key:  # timed out or continued
            return 0


def img_from_canvas(canvas: Any) -> np.ndarray:
    """Read the rendered RGB pixels of an Agg canvas.

    Args:
        canvas: A ``FigureCanvasAgg`` (or any canvas with ``print_to_buffer``).

    Returns:
        An ``(H, W, 3)`` uint8 array.
    """
    buffer, (width, height) = canvas.print_to_buffer()
    rgba = np.frombuffer(buffer, dtype=np.uint8).reshape(height, width, 4)
    return rgba[..., :3].copy()
