"""The pipe from `ginn_gl.watch` to its viewer process, packed and unpacked here only.

First a header: uint32 length, a JSON object (the network, the window's options, the target's
size), then the target, uint8 [H, W]. Then frames, each a uint32 tag, a uint32 payload length and
the payload: SNAPSHOT int64 step, float32 full-image loss, float32 [P] weights; LOSSES int64 [k]
steps then float32 [k] minibatch losses (each the mean over the steps since the one before);
GEOMETRY int64 step, int32 regions, float32 [2] density, int8 [N] status; PROGRESS int64 step,
float64 steps/s, float64 minibatch loss, float64 seconds, int64 snapshots waiting for geometry; END a
JSON object (state, message). The viewer answers on its stdout with one line: "open", or "error: ...".
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ginn_gl.core.config import MAX_RESOLUTION, TrainConfig
from ginn_gl.core.errors import UserError
from ginn_gl.core.network import parameter_count
from ginn_gl.core.selection import hidden_count

SNAPSHOT, LOSSES, GEOMETRY, PROGRESS, END = 1, 2, 3, 4, 5
MAX_HEADER = 1 << 20
MAX_FRAME = 64 << 20
FRAME = np.dtype([("tag", "<u4"), ("length", "<u4")])


class StreamError(Exception):
    """Input that does not follow the pipe's protocol."""


def frame(tag: int, *parts: bytes) -> bytes:
    payload = b"".join(parts)
    return np.array([(tag, len(payload))], FRAME).tobytes() + payload


@dataclass
class Header:
    options: dict[str, Any]  # sizes, activation, head, title, label, steps (0: not known), history_mb, device,
    # view (keyword options), fps, size ([w, h]), frame_log (a path or None), frame_log_overwrite
    target: np.ndarray  # uint8 [H, W] of 0 and 1

    @property
    def sizes(self) -> list[int]:
        return [int(n) for n in self.options["sizes"]]

    def pack(self) -> bytes:
        text = json.dumps({**self.options, "height": self.target.shape[0], "width": self.target.shape[1]}).encode()
        return np.array([len(text)], "<u4").tobytes() + text + np.ascontiguousarray(self.target, np.uint8).tobytes()

    @classmethod
    def read(cls, read: Callable[[int], bytes]) -> Header:
        """The header from `read` (exactly n bytes or EOFError), checked before anything is allocated."""
        length = int(np.frombuffer(read(4), "<u4")[0])
        if length > MAX_HEADER:
            raise StreamError(f"a header of {length} bytes")
        try:
            options = json.loads(read(length))
            height, width = int(options["height"]), int(options["width"])
            config(options)  # the network and history settings, checked as a training run's
        except (ValueError, KeyError, TypeError, UserError) as exc:
            raise StreamError(f"a header that does not describe a network ({exc})") from None
        if not (1 <= height <= MAX_RESOLUTION and 1 <= width <= MAX_RESOLUTION):
            raise StreamError(f"a target of {width}x{height}")
        target = np.frombuffer(read(height * width), np.uint8).reshape(height, width)
        if target.max(initial=0) > 1:
            raise StreamError("a target that is not 0 and 1")
        return cls(options, target)


def config(options: dict[str, Any]) -> TrainConfig:
    """The training settings the window's panel reads, for the streamed network."""
    return TrainConfig(layers=tuple(int(n) for n in options["sizes"][1:-1]), activation=str(options["activation"]),
                       head=str(options["head"]), image=str(options["label"]), steps=max(1, int(options["steps"])),
                       history_mb=float(options["history_mb"]), device="cpu")


def snapshot(step: int, loss: float, weights: np.ndarray) -> bytes:
    return frame(SNAPSHOT, np.array([step], "<i8").tobytes(), np.array([loss], "<f4").tobytes(),
                 np.ascontiguousarray(weights, "<f4").tobytes())


def losses(steps: np.ndarray, values: np.ndarray) -> bytes:
    return frame(LOSSES, np.asarray(steps, "<i8").tobytes(), np.asarray(values, "<f4").tobytes())


def geometry(step: int, regions: int, density: np.ndarray, status: np.ndarray) -> bytes:
    return frame(GEOMETRY, np.array([step], "<i8").tobytes(), np.array([regions], "<i4").tobytes(),
                 np.asarray(density, "<f4").tobytes(), np.asarray(status, "<i1").tobytes())


def progress(step: int, rate: float, loss: float, seconds: float, lag: int) -> bytes:
    return frame(PROGRESS, np.array([step], "<i8").tobytes(), np.array([rate, loss, seconds], "<f8").tobytes(),
                 np.array([lag], "<i8").tobytes())


def end(state: str, message: str) -> bytes:
    return frame(END, json.dumps({"state": state, "message": message}).encode())


class Reader:
    """Frames from the pipe, unpacked and checked against the header's network."""

    def __init__(self, header: Header, read: Callable[[int], bytes]):
        self.read = read
        self.n_params = parameter_count(header.sizes)
        self.n_hidden = hidden_count(header.sizes)

    def next(self) -> tuple[int, tuple[Any, ...]]:
        """(tag, fields) of the next frame; EOFError when the pipe ends."""
        tag, length = (int(v) for v in np.frombuffer(self.read(FRAME.itemsize), FRAME)[0])
        if length > MAX_FRAME:
            raise StreamError(f"a frame of {length} bytes")
        data = self.read(length)
        if tag == SNAPSHOT and length == 12 + 4 * self.n_params:
            weights = np.frombuffer(data, "<f4", offset=12).astype(np.float32)
            return tag, (int(np.frombuffer(data, "<i8", 1)[0]), float(np.frombuffer(data, "<f4", 1, 8)[0]), weights)
        if tag == LOSSES and length % 12 == 0:
            k = length // 12
            return tag, (np.frombuffer(data, "<i8", k).astype(np.int64), np.frombuffer(data, "<f4", k, 8 * k))
        if tag == GEOMETRY and length == 8 + 4 + 8 + self.n_hidden:
            return tag, (int(np.frombuffer(data, "<i8", 1)[0]), int(np.frombuffer(data, "<i4", 1, 8)[0]),
                         np.frombuffer(data, "<f4", 2, 12), np.frombuffer(data, "<i1", self.n_hidden, 20))
        if tag == PROGRESS and length == 40:
            rate, loss, seconds = (float(v) for v in np.frombuffer(data, "<f8", 3, 8))
            return tag, (int(np.frombuffer(data, "<i8", 1)[0]), rate, loss, seconds,
                         int(np.frombuffer(data, "<i8", 1, 32)[0]))
        if tag == END:
            try:
                ending = json.loads(data)
                return tag, (str(ending["state"]), str(ending["message"]))
            except (ValueError, KeyError, TypeError):
                raise StreamError("an END frame that is not a JSON object with state and message") from None
        raise StreamError(f"a frame with tag {tag} and {length} bytes")
