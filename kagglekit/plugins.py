"""The plugin manager: entry-point loading, error isolation, registries and listing.

Built-in competitions, models, metrics and commands are ordinary plugins listed in
kagglekit's own ``[project.entry-points.kagglekit]``; third-party packages add theirs
to the same group. ``KAGGLEKIT_LOAD_PLUGINS`` (comma-separated entry-point names)
restricts which entry points load; an empty value loads none but the core commands.
"""

from __future__ import annotations

import difflib
import os
import sys
from dataclasses import dataclass, field
from importlib import metadata

import pluggy

from kagglekit import hookspecs
from kagglekit.errors import PluginError, UnknownName

ENTRY_POINT_GROUP = "kagglekit"
CORE = "kagglekit."  # the core's own modules (commands, folds, executors, ...) always load

pm = pluggy.PluginManager("kagglekit")
pm.add_hookspecs(hookspecs)

# what a plugin may raise (at import or in a hook) without taking kagglekit down with it:
# any error, and sys.exit() / KeyboardInterrupt raised by the plugin's own code
ISOLATED = (Exception, SystemExit, KeyboardInterrupt)

_loaded = False
_loading = False  # load_plugins is importing the entry points
# command groups that asked for their commands while the plugins were loading
_pending_groups: list = []
# plugin name -> {"name", "package", "version", "module"}
_plugin_info: dict[str, dict] = {}
_failed: list[dict] = []


def _warn(message: str) -> None:
    print(f"Warning: {message}", file=sys.stderr)


def load_plugins() -> None:
    """Load every entry-point plugin once; a plugin that fails to import is reported and skipped."""
    global _loaded, _loading
    if _loaded:
        return
    _loaded = True
    _loading = True
    try:
        _load_entry_points()
    finally:
        _loading = False
    while _pending_groups:  # e.g. kagglekit.cli imported by the first command plugin loaded
        _add_commands_now(_pending_groups.pop(0))


def _load_entry_points() -> None:
    allow = os.environ.get("KAGGLEKIT_LOAD_PLUGINS")
    allowed = None if allow is None else {n.strip() for n in allow.split(",") if n.strip()}
    for ep in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=_builtin_first):
        if allowed is not None and ep.name not in allowed and not ep.value.startswith(CORE):
            continue
        if pm.has_plugin(ep.name):
            continue
        dist, version = _dist_of(ep)
        try:
            module = ep.load()
        except ISOLATED as exc:  # a broken plugin must not break the rest, even one that exits
            _failed.append(
                {"name": ep.name, "package": dist, "error": f"{type(exc).__name__}: {exc}"}
            )
            _warn(
                f"plugin {ep.name!r} from package {dist} {version} failed to load "
                f"({type(exc).__name__}: {exc}); continuing without it"
            )
            continue
        pm.register(module, name=ep.name)
        _plugin_info[ep.name] = {
            "name": ep.name,
            "package": dist,
            "version": version,
            "module": ep.value,
        }


_dists: dict = {}  # Distribution -> (package, version)


def _dist_of(ep) -> tuple[str, str]:
    """(package, version) of an entry point's distribution, read once per distribution
    (each ``Distribution.name``/``.version`` parses its METADATA file again: 75 parses, a
    second of start-up, before this)."""
    if ep.dist is None:
        return "?", "?"
    if ep.dist not in _dists:
        meta = ep.dist.metadata
        _dists[ep.dist] = (meta["Name"], meta["Version"])
    return _dists[ep.dist]


def _builtin_first(ep) -> tuple:
    return (0 if _dist_of(ep)[0] == "kagglekit" else 1, ep.name)


def register_plugin(obj, name: str) -> None:
    """Register an in-process plugin (tests, notebooks); reset the registries."""
    load_plugins()
    pm.register(obj, name=name)
    _plugin_info[name] = {
        "name": name,
        "package": getattr(obj, "__name__", name),
        "version": "-",
        "module": getattr(obj, "__name__", repr(obj)),
    }
    _reset_registries()


def unregister_plugin(name: str) -> None:
    pm.unregister(name=name)
    _plugin_info.pop(name, None)
    _reset_registries()


@dataclass
class Registry:
    """Names registered through one hook, remembering which plugin registered each."""

    kind: str  # "competition", "model", "metric"
    items: dict = field(default_factory=dict)
    owners: dict = field(default_factory=dict)
    aliases: dict = field(default_factory=dict)

    def add(self, name: str, obj, owner: str, aliases=()) -> None:
        for key in (name, *aliases):
            if key in self.items or key in self.aliases:
                other = self.owners[key if key in self.items else self.aliases[key]]
                raise PluginError(
                    f"{self.kind} name {key!r} is registered by both plugin {other!r} and plugin "
                    f"{owner!r}; uninstall one of them or set KAGGLEKIT_LOAD_PLUGINS to choose"
                )
        self.items[name] = obj
        self.owners[name] = owner
        for alias in aliases:
            self.aliases[alias] = name

    def resolve(self, name: str) -> str:
        if name in self.items:
            return name
        if name in self.aliases:
            return self.aliases[name]
        choices = sorted([*self.items, *self.aliases])
        close = difflib.get_close_matches(name, choices, n=1, cutoff=0.5)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        listing = {"competition": "competitions", "model": "models"}.get(self.kind, "plugins")
        raise UnknownName(
            f"unknown {self.kind} {name!r}{hint} "
            f"(`kagglekit {listing}` lists the {len(self.items)} available)"
        )

    def get(self, name: str):
        return self.items[self.resolve(name)]

    def owner(self, name: str) -> str:
        return self.owners[self.resolve(name)]


_registries: dict[str, Registry] = {}
NAMED_KINDS = (
    "model",
    "fold scheme",
    "blend method",
    "executor",
    "tracker",
    "pretrain family",
)  # registered as register(name, cls); the rest by .name


def _reset_registries() -> None:
    _registries.clear()


def _collect(kind: str, hook_name: str) -> Registry:
    load_plugins()
    if kind in _registries:
        return _registries[kind]
    registry = Registry(kind)
    hook = getattr(pm.hook, hook_name)
    for impl in hook.get_hookimpls():  # registration order: built-ins first
        owner = impl.plugin_name

        def register(*args, _owner=owner, **kwargs):
            if kind in NAMED_KINDS:  # register(name, cls)
                name, cls = args if len(args) == 2 else (kwargs["name"], kwargs["cls"])
                if kind == "model":
                    _check_model(name, cls, _owner)
                elif kind == "blend method":
                    _check_blend_method(name, cls, _owner)
                registry.add(name, cls, _owner)
            else:
                obj = args[0] if args else kwargs[kind]
                registry.add(obj.name, obj, _owner, getattr(obj, "aliases", ()))

        try:
            impl.function(register)
        except PluginError:
            raise
        except ISOLATED as exc:
            _warn(
                f"plugin {owner!r} failed in {hook_name} ({type(exc).__name__}: {exc}); "
                f"its {kind}s are not available"
            )
    _registries[kind] = registry
    return registry


def _check_model(name: str, cls, owner: str) -> None:
    missing = [m for m in ("fit", "predict", "save", "load") if not hasattr(cls, m)]
    if missing or not hasattr(cls, "Params"):
        raise PluginError(
            f"plugin {owner!r} registered model {name!r} without "
            f"{', '.join(missing + ([] if hasattr(cls, 'Params') else ['Params']))}; "
            f"a model needs Params, fit, predict, save and load"
        )


def _check_blend_method(name: str, cls, owner: str) -> None:
    missing = [m for m in ("fit", "predict") if not hasattr(cls, m)]
    if missing or not isinstance(name, str) or not name:
        raise PluginError(
            f"plugin {owner!r} registered blend method {name!r} without "
            f"{', '.join(missing) or 'a name'}; a blend method needs a name, "
            f"fit(P, y) and predict(P)"
        )


def competitions() -> Registry:
    return _collect("competition", "register_competitions")


def models() -> Registry:
    return _collect("model", "register_models")


def metrics() -> Registry:
    return _collect("metric", "register_metrics")


def fold_schemes() -> Registry:
    return _collect("fold scheme", "register_fold_schemes")


def blend_methods() -> Registry:
    return _collect("blend method", "register_blend_methods")


def executors() -> Registry:
    return _collect("executor", "register_executors")


def trackers() -> Registry:
    return _collect("tracker", "register_trackers")


def pretrain_families() -> Registry:
    return _collect("pretrain family", "register_pretrain_families")


def get_competition(name: str):
    return competitions().get(name)


def get_model(name: str):
    return models().get(name)


def get_metric(name: str):
    return metrics().get(name)


def plugin_listing() -> list[dict]:
    """Each loaded plugin with its package, version and what it registered."""
    load_plugins()
    comps, mods, mets, schemes = competitions(), models(), metrics(), fold_schemes()
    blends = blend_methods()
    out = []
    for name, info in _plugin_info.items():
        row = dict(info)
        row["competitions"] = sorted(k for k, v in comps.owners.items() if v == name)
        row["models"] = sorted(k for k, v in mods.owners.items() if v == name)
        row["metrics"] = sorted(k for k, v in mets.owners.items() if v == name)
        row["fold_schemes"] = sorted(k for k, v in schemes.owners.items() if v == name)
        row["blend_methods"] = sorted(k for k, v in blends.owners.items() if v == name)
        row["commands"] = sorted(_command_owners.get(name, []))
        row["executors"] = sorted(k for k, v in executors().owners.items() if v == name)
        row["trackers"] = sorted(k for k, v in trackers().owners.items() if v == name)
        row["pretrain_families"] = sorted(
            k for k, v in pretrain_families().owners.items() if v == name
        )
        out.append(row)
    return out


def failed_plugins() -> list[dict]:
    return list(_failed)


_command_owners: dict[str, list[str]] = {}


def add_commands(cli) -> None:
    """Let every plugin add its click commands, recording which plugin added which. Asked
    while the plugins are loading (``kagglekit.cli`` is imported by the first command
    plugin that loads), the commands are added as soon as they are all loaded."""
    load_plugins()
    if _loading:
        _pending_groups.append(cli)
        return
    _add_commands_now(cli)


def _add_commands_now(cli) -> None:
    for impl in pm.hook.register_commands.get_hookimpls():
        before = set(cli.commands)
        try:
            impl.function(cli)
        except ISOLATED as exc:
            _warn(
                f"plugin {impl.plugin_name!r} failed to add its commands "
                f"({type(exc).__name__}: {exc})"
            )
            continue
        _command_owners[impl.plugin_name] = sorted(set(cli.commands) - before)
