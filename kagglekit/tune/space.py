"""Search spaces: what ``kagglekit tune`` may vary, declared by each model family beside its
``Params`` and overridable in TOML.

A model class declares ``search_space``, a dict from a Params field to one of
:class:`Float`, :class:`Int` or :class:`Choice`::

    class TfidfLR(Model):
        search_space = {"C": Float(0.1, 30, log=True), "min_df": Int(1, 5)}

A run's TOML config (``--config``) overrides or extends it under ``[tune.space]`` (for every
model) or ``[tune.space.MODEL]``::

    [tune.space]
    C = { low = 0.5, high = 20, log = true }
    word_ngram_max = { choices = [1, 2, 3] }
    min_df = 2            # a plain value: fixed, not searched

Every name is checked against the model's Params (with a did-you-mean), and every value
the space can produce is checked by building the Params before any trial runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from kagglekit.errors import KaggleKitError


@dataclass(frozen=True)
class Float:
    low: float
    high: float
    log: bool = False

    def suggest(self, trial, name: str):
        return trial.suggest_float(name, self.low, self.high, log=self.log)

    def corners(self) -> list:
        return [self.low, self.high]

    def describe(self) -> str:
        return f"{self.low:g}..{self.high:g}" + (" (log)" if self.log else "")


@dataclass(frozen=True)
class Int:
    low: int
    high: int
    log: bool = False
    step: int = 1

    def suggest(self, trial, name: str):
        return trial.suggest_int(name, self.low, self.high, log=self.log, step=self.step)

    def corners(self) -> list:
        return [self.low, self.high]

    def describe(self) -> str:
        return (
            f"{self.low}..{self.high}"
            + (" (log)" if self.log else "")
            + (f" step {self.step}" if self.step != 1 else "")
        )


@dataclass(frozen=True)
class Choice:
    choices: tuple

    def suggest(self, trial, name: str):
        return trial.suggest_categorical(name, list(self.choices))

    def corners(self) -> list:
        return list(self.choices)

    def describe(self) -> str:
        return "{" + ", ".join("none" if c is None else str(c) for c in self.choices) + "}"


@dataclass(frozen=True)
class Fixed:
    value: object

    def suggest(self, trial, name: str):
        return self.value

    def corners(self) -> list:
        return [self.value]

    def describe(self) -> str:
        return f"= {self.value} (fixed)"


DIMENSIONS = (Float, Int, Choice, Fixed)


def dimension_from_toml(model: str, name: str, value):
    """One ``[tune.space]`` entry as a dimension."""
    where = f"[tune.space] {name}"
    if not isinstance(value, dict):
        return Fixed(value)
    keys = set(value)
    if "choices" in keys:
        if keys - {"choices"} or not isinstance(value["choices"], list) or not value["choices"]:
            raise KaggleKitError(
                f"{where}: expected {{ choices = [a, b, ...] }} for {model}, got {value!r}"
            )
        return Choice(tuple(value["choices"]))
    if not {"low", "high"} <= keys or keys - {"low", "high", "log", "step"}:
        raise KaggleKitError(
            f"{where}: expected {{ low = L, high = H [, log = true] "
            f"[, step = S] }} or {{ choices = [...] }} for {model}, "
            f"got {value!r}"
        )
    low, high, log = value["low"], value["high"], bool(value.get("log", False))
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (low, high)):
        raise KaggleKitError(f"{where}: low and high must be numbers, got {value!r}")
    if not low < high:
        raise KaggleKitError(f"{where}: low must be below high, got low={low} high={high}")
    if log and low <= 0:
        raise KaggleKitError(f"{where}: a log range needs low > 0, got low={low}")
    if isinstance(low, int) and isinstance(high, int):
        step = value.get("step", 1)
        if not isinstance(step, int) or isinstance(step, bool) or step < 1:
            raise KaggleKitError(f"{where}: step must be a positive integer, got {step!r}")
        return Int(low, high, log=log, step=step)
    if "step" in value:
        raise KaggleKitError(
            f"{where}: step is for integer ranges (integer low and high), got {value!r}"
        )
    return Float(float(low), float(high), log=log)


def model_space(name: str, cls, config: dict | None = None) -> dict:
    """The space ``tune`` searches for model ``name``: the class's ``search_space``, then the
    config's ``[tune.space]`` and ``[tune.space.NAME]`` entries over it (later wins)."""
    from kagglekit.params import closest_name, field_types

    space = dict(getattr(cls, "search_space", None) or {})
    tune_cfg = (config or {}).get("tune", {})
    overrides = dict(tune_cfg.get("space", {}))
    per_model = overrides.pop(name, None)
    overrides = {k: v for k, v in overrides.items() if not _is_model_table(k, v)}
    if isinstance(per_model, dict):
        overrides.update(per_model)
    fields = field_types(cls.Params)
    for key, value in overrides.items():
        if key not in fields:
            hint = closest_name(key, fields)
            raise KaggleKitError(
                f"[tune.space] {key}: {name} has no such parameter"
                + (f"; did you mean {hint}?" if hint else "")
                + f" (`kagglekit models {name}` lists them)"
            )
        space[key] = dimension_from_toml(name, key, value)
    for key in space:
        if key not in fields:
            raise KaggleKitError(
                f"{name}'s search_space names {key!r}, which is not one of its Params"
            )
    if not any(not isinstance(d, Fixed) for d in space.values()):
        raise KaggleKitError(
            f"{name} declares no search space: give one in the config, e.g.\n"
            f"  [tune.space]\n  {next(iter(fields), 'param')} = "
            f"{{ low = 0.1, high = 10, log = true }}"
        )
    return space


def _is_model_table(key: str, value) -> bool:
    """A ``[tune.space.MODEL]`` table: a dict that is not a dimension."""
    return isinstance(value, dict) and not ({"low", "high", "choices"} & set(value))


def check_space(name: str, cls, space: dict, fixed: dict) -> None:
    """Build the Params at every corner of the space, so a bad range fails before trial 1."""
    from kagglekit.errors import ParamError
    from kagglekit.params import build_params

    for key, dim in space.items():
        for value in dim.corners():
            try:
                build_params(cls.Params, {**fixed, key: value}, name)
            except (ParamError, KaggleKitError) as exc:
                raise KaggleKitError(f"[tune.space] {key} = {dim.describe()}: {exc}") from None


def suggest(trial, space: dict) -> dict:
    """One trial's values: {param: value} for every dimension of the space."""
    return {key: dim.suggest(trial, key) for key, dim in space.items()}


def describe(space: dict) -> str:
    return ", ".join(f"{k} {d.describe()}" for k, d in space.items())
