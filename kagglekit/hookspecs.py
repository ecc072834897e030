"""pluggy hook specifications: what a kagglekit plugin may register."""

import pluggy

hookspec = pluggy.HookspecMarker("kagglekit")
hookimpl = pluggy.HookimplMarker("kagglekit")


@hookspec
def register_competitions(register):
    """Call register(Competition(...)) for each competition this plugin adds."""


@hookspec
def register_models(register):
    """Call register(name, ModelClass) for each model this plugin adds."""


@hookspec
def register_metrics(register):
    """Call register(Metric(...)) for each metric this plugin adds."""


@hookspec
def register_fold_schemes(register):
    """Call register(name, SplitterClass) for each fold scheme this plugin adds."""


@hookspec
def register_commands(cli):
    """Add click commands to the kagglekit CLI group."""


@hookspec
def register_blend_methods(register):
    """Call register(name, BlendMethodClass) for each blend method this plugin adds."""


@hookspec
def register_executors(register):
    """Call register(name, ExecutorClass) for each way of running a run's jobs this plugin adds."""


@hookspec
def register_trackers(register):
    """Call register(name, ExperimentTrackerClass) for each experiment tracker this plugin adds."""


@hookspec
def register_pretrain_families(register):
    """Call register(name, PretrainFamilyClass) for each ``pretrain --model NAME`` it adds."""
