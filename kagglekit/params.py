"""Hyperparameters: ``-p key=value`` strings and TOML values checked against a Params dataclass."""

from __future__ import annotations

import dataclasses
import difflib
import typing
from pathlib import Path

from kagglekit.errors import KaggleKitError, ParamError

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def parse_assignments(items) -> dict[str, str]:
    """['C=4', 'ngram=1'] -> {'C': '4', 'ngram': '1'}."""
    out = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ParamError(f"-p {item!r}: expected key=value, e.g. -p C=4")
        out[key.strip()] = value.strip()
    return out


def field_types(params_cls) -> dict[str, object]:
    hints = typing.get_type_hints(params_cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(params_cls)}


def _type_name(tp) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def coerce(name: str, value, tp, model: str):
    """Convert a string (from -p) or a TOML value to ``tp``; ParamError when it cannot."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null")):
            if type(None) in args:
                return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return coerce(name, value, arg, model)
            except ParamError as exc:
                errors.append(str(exc))
        raise ParamError(errors[0] if errors else f"{model}: bad value for {name}")
    if origin is typing.Literal:
        if value in args or str(value) in map(str, args):
            return next(a for a in args if str(a) == str(value))
        raise ParamError(f"{model}: {name}={value!r} must be one of {', '.join(map(str, args))}")
    if origin in (tuple, list):
        items = value.split(",") if isinstance(value, str) else list(value)
        items = [i.strip() for i in items if str(i).strip() != ""]
        inner = args[0] if args else str
        converted = [coerce(name, i, inner, model) for i in items]
        return tuple(converted) if origin is tuple else converted
    try:
        if tp is bool:
            if isinstance(value, bool):
                return value
            low = str(value).lower()
            if low in _TRUE:
                return True
            if low in _FALSE:
                return False
            raise ValueError
        if tp is int:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            return int(str(value).replace("_", "")) if isinstance(value, str) else int(value)
        if tp is float:
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        if tp is str:
            return str(value)
        if tp is Path:
            return Path(value)
    except ValueError:
        raise ParamError(f"{model}: {name}={value!r} is not a valid {_type_name(tp)}") from None
    return value


def closest_name(key: str, names) -> str | None:
    """The valid name ``key`` most likely meant, ignoring case (``c`` -> ``C``), or None."""
    names = list(names)
    same = [n for n in names if n.lower() == key.lower()]
    if same:
        return same[0]
    by_lower = {n.lower(): n for n in names}
    close = difflib.get_close_matches(key.lower(), list(by_lower), n=1)
    return by_lower[close[0]] if close else None


def build_params(params_cls, values: dict, model: str):
    """Make a Params instance from a mapping; unknown keys list the valid ones."""
    types = field_types(params_cls)
    kwargs = {}
    for key, value in values.items():
        if key not in types:
            close = closest_name(key, list(types))
            hint = f" (did you mean {close!r}?)" if close else ""
            raise ParamError(
                f"{model} has no parameter {key!r}{hint}; valid: "
                f"{', '.join(sorted(types)) or 'none'}"
            )
        kwargs[key] = coerce(key, value, types[key], model)
    params = params_cls(**kwargs)
    validate = getattr(params, "validate", None)
    if validate is not None:
        try:
            validate()
        except ValueError as exc:
            raise ParamError(f"{model}: {exc}") from None
    return params


def params_to_dict(params) -> dict:
    out = {}
    for key, value in dataclasses.asdict(params).items():
        out[key] = (
            list(value)
            if isinstance(value, tuple)
            else (str(value) if isinstance(value, Path) else value)
        )
    return out


def describe(params_cls) -> list[dict]:
    """[{name, type, default}] for `kagglekit models`."""
    types = field_types(params_cls)
    out = []
    for f in dataclasses.fields(params_cls):
        default = (
            f.default
            if f.default is not dataclasses.MISSING
            else (f.default_factory() if f.default_factory is not dataclasses.MISSING else None)
        )
        if isinstance(default, tuple):
            default = list(default)
        out.append({"name": f.name, "type": _type_name(types[f.name]), "default": default})
    return out


def split_competition_params(comp, items, config: dict):
    """Route the ``-p key=value`` items (and ``--config [params]`` keys) that name one of the
    competition's options to the competition; returns (options instance or None, the other
    items for the models, config without the competition's keys)."""
    params_cls = comp.params_class()
    if params_cls is None:
        return None, list(items or ()), config
    names = set(field_types(params_cls))
    values, rest = {}, []
    for item in items or ():
        key, sep, value = item.partition("=")
        if sep and key.strip() in names:
            values[key.strip()] = value.strip()
        else:
            rest.append(item)
    cfg_params = dict(config.get("params", {}))
    for key in [k for k in cfg_params if k in names]:
        values.setdefault(key, cfg_params.pop(key))
    config = {**config, "params": cfg_params}
    return build_params(params_cls, values, comp.slug), rest, config


def load_config(path: Path | None) -> dict:
    if path is None:
        return {}
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise KaggleKitError(f"{path}: not valid TOML ({exc})") from None


def model_extra(cls) -> dict | None:
    """The optional extra a model class needs (its ``extra``, e.g. ``keras``), the modules
    that must be importable for it (``extra_modules`` + ``keras_modules``), the ones that are
    not, and the pip line; None for a model of the core install. Nothing is imported."""
    import importlib.util

    extra = getattr(cls, "extra", None)
    if not extra:
        return None
    modules = list(
        dict.fromkeys([*getattr(cls, "extra_modules", ()), *getattr(cls, "keras_modules", ())])
    )

    def importable(module: str) -> bool:
        try:
            return importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            return False

    return {
        "extra": extra,
        "modules": modules,
        "missing": [m for m in modules if not importable(m)],
        "install": f"pip install 'kagglekit[{extra}]'",
    }


def check_installed(name: str, cls) -> None:
    """Refuse a model whose extra is not installed, before any data is read."""
    needs = model_extra(cls)
    if needs and needs["missing"]:
        raise KaggleKitError(
            f"{name} needs the [{needs['extra']}] extra "
            f"({', '.join(needs['missing'])} not installed); install it with: "
            f"{needs['install']}"
        )


def resolve_models(models, params, config: dict, runs_dir=None):
    """[(name, cls, Params instance)] from --model/-p/--config, each checked by the class's
    ``check_inputs``. A param that names a run (a class's ``run_params``, e.g. ``teacher``)
    is resolved here, once, against the runs folder ``runs_dir`` (a RunsFolder or its root;
    default ./runs) to that run's folder (``store.refs.resolve_run_params``), so that
    run.json records, and every worker reads, the run that was meant."""
    from kagglekit.store.refs import resolve_run_params

    names = list(models)
    if not names:
        cfg_model = config.get("model") or config.get("models")
        names = [cfg_model] if isinstance(cfg_model, str) else list(cfg_model or [])
    if not names:
        raise KaggleKitError("no model given; pass --model NAME (`kagglekit models` lists them)")
    cfg_params = dict(config.get("params", {}))
    cli_params = parse_assignments(params)
    out = []
    from kagglekit import plugins

    registry = plugins.models()
    canonical = [registry.resolve(n) for n in names]
    for name in canonical:
        cls = registry.get(name)
        check_installed(name, cls)
        values = {k: v for k, v in cfg_params.items() if not isinstance(v, dict)}
        values.update(cfg_params.get(name, {}) if isinstance(cfg_params.get(name), dict) else {})
        for key, value in cli_params.items():
            prefix, dot, rest = key.partition(".")
            if dot and prefix in canonical:
                if prefix == name:
                    values[rest] = value
            else:
                values[key] = value
        built = build_params(cls.Params, values, name)
        built = resolve_run_params(name, cls, built, runs_dir)
        check = getattr(cls, "check_inputs", None)  # third-party models may not define it
        if check is not None:
            check(built)
        out.append((name, cls, built))
    return out
