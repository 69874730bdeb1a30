"""Keyword arguments in, the core's settings out: the command line's checks and messages, with each
option named as its keyword is spelled (`batch_size`, not `--batch-size`), raised as ValueError."""

from __future__ import annotations

import argparse
import numbers
import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from ginn_gl.core.config import GINN, TrainConfig, parse_int_list
from ginn_gl.core.errors import UserError
from ginn_gl.core.view import ViewSettings

OPTION = re.compile(r"(?<![\w-])--([a-z][a-z0-9-]*)")


class OptionError(UserError, ValueError):
    """A bad keyword argument: the message names it, as the keyword is spelled, and the fix."""


def keyword_message(text: str) -> str:
    """A command-line message with its options spelled as keywords: --batch-size -> batch_size."""
    text = text.replace("--overwrite", "overwrite=True")
    return OPTION.sub(lambda match: match.group(1).replace("-", "_"), text)


@contextmanager
def as_keywords(option: str | None = None, cli_option: str | None = None) -> Iterator[None]:
    """A UserError inside becomes an OptionError (a ValueError) naming keywords; `option` is put in
    front of a message that does not name it already (and replaces `cli_option` where it differs)."""
    try:
        yield
    except OptionError:
        raise
    except UserError as exc:
        message = str(exc)
        if option is not None and cli_option is not None:
            message = re.sub(rf"{re.escape(cli_option)}\b", option, message)
        message = keyword_message(message)
        if option is not None and not re.search(rf"\b{re.escape(option)}\b", message):
            message = f"{option}: {message}"
        raise OptionError(message) from None


def whole(name: str, value: object) -> int:
    """`value` as an int, or an OptionError naming `name` (a bool or a float is refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise OptionError(f"{name}={value!r} is not a whole number; give e.g. {name}=2")
    return int(value)


def real(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise OptionError(f"{name}={value!r} is not a number")
    return float(value)


def text(name: str, value: object, path: bool = False) -> str:
    if path and isinstance(value, os.PathLike):
        return os.fspath(value)  # type: ignore[return-value]
    if not isinstance(value, str):
        raise OptionError(f"{name}={value!r} is not a string" + (" or a path" if path else ""))
    return value


def widths(value: object) -> tuple[int, ...]:
    """Hidden widths from (16, 16, 16) or "16,16,16"."""
    if isinstance(value, str):
        with as_keywords("layers"):
            return parse_int_list("--layers", value, "16,16,16")
    if not isinstance(value, Sequence):
        raise OptionError(f"layers={value!r} is not a sequence of widths; give e.g. layers=(16, 16, 16)")
    return tuple(whole("layers", width) for width in value)


def training_config(image: object, seed: object, layers: object, activation: object, resolution: object,
                    device: object, history_mb: object, ginn: bool, preset: dict[str, Any]) -> TrainConfig:
    """The TrainConfig `ginn-gl train` builds from the same options: `preset` holds those --ginn sets,
    None where not given (then --ginn's value, or the default)."""
    values: dict[str, Any] = dict(GINN) if ginn else {}
    for key, value in preset.items():
        if value is None:
            continue
        if key in ("steps", "batch_size"):
            values[key] = whole(key, value)
        elif key == "lr":
            values[key] = real(key, value)
        else:
            values[key] = text(key, value)
    with as_keywords():
        return TrainConfig(layers=widths(layers), activation=text("activation", activation),
                           seeds=(whole("seed", seed),), image=text("image", image, path=True),
                           resolution=whole("resolution", resolution), device=text("device", device),
                           history_mb=real("history_mb", history_mb), **values)


def view_settings(sizes: list[int], options: dict[str, Any], target_shape: tuple[int, ...] = (1, 1),
                  aspect: float = 1.0) -> ViewSettings:
    """What `render`'s view options build (cli.arguments.view_from_args), from keywords: view, neurons,
    solo, highlight, line_width, contrast, shading, output_boundary, domain; for a target of `target_shape`
    drawn into a picture of `aspect` (width / height), as the command's."""
    from ginn_gl.cli.arguments import VIEW_DEFAULTS, one_neuron, view_from_args

    known = {"view", "neurons", "solo", "highlight", "line_width", "contrast", "shading", "output_boundary", "domain"}
    unknown = sorted(set(options) - known)
    if unknown:
        raise TypeError(f"unknown view option{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; the view "
                        f"options are {', '.join(sorted(known))}")
    args = argparse.Namespace(view=VIEW_DEFAULTS["background"], neurons="all", solo=None, highlight=None,
                              line_width=VIEW_DEFAULTS["line_width"], contrast=VIEW_DEFAULTS["contrast"],
                              shading=VIEW_DEFAULTS["shading"], output_boundary=VIEW_DEFAULTS["output_boundary"],
                              domain=None)
    for key, value in options.items():
        setattr(args, key, _view_value(key, value))
    for key in ("solo", "highlight"):  # parsed as --neurons is: its messages would name that option
        with as_keywords(key, "--neurons"):
            one_neuron(getattr(args, key), f"--{key}", sizes)
    with as_keywords():
        return view_from_args(args, sizes, target_shape, aspect)


def _view_value(key: str, value: object) -> object:
    """A keyword's value in the form the command line's text has: neurons=["1:*", "2:3"] -> "1:*,2:3",
    solo=(1, 3) -> "1:3", domain=(x0, y0, x1, y1) -> "x0,y0,x1,y1"."""
    if key == "line_width":
        return real(key, value)
    if key == "output_boundary":
        if not isinstance(value, bool):
            raise OptionError(f"output_boundary={value!r} is not True or False")
        return value
    if value is None and key in ("solo", "highlight", "domain"):
        return None
    if key in ("solo", "highlight") and isinstance(value, tuple) and len(value) == 2:
        return f"{whole(key, value[0])}:{whole(key, value[1])}"
    if key == "domain" and isinstance(value, Sequence) and not isinstance(value, str):
        return ",".join(repr(real(key, v)) for v in value)
    if key == "neurons" and isinstance(value, Sequence) and not isinstance(value, str):
        return ",".join(text(key, item) for item in value)
    return text(key, value)
