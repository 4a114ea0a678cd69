"""Curriculum managers by name, plus user plugins given as "package.module:Class"."""
import importlib

from engine.managers.bandits import (LearnabilityManager, LearningProgressManager, RoundRobinManager,
                                     ThompsonManager, UniformManager)
from engine.managers.base import Manager, ZoneObservation
from engine.managers.spatial import NoCurriculum, StagesManager

MANAGERS: dict[str, type[Manager]] = {m.name: m for m in (
    StagesManager, NoCurriculum, ThompsonManager, UniformManager, RoundRobinManager, LearningProgressManager,
    LearnabilityManager)}


class ManagerError(ValueError):
    """A manager name or plugin that cannot be used."""


def manager_class(name: str) -> type[Manager]:
    """Look up a built-in manager or import a plugin class."""
    if name in MANAGERS:
        return MANAGERS[name]
    if ":" not in name:
        raise ManagerError(f"unknown manager {name!r}; choose one of {', '.join(sorted(MANAGERS))} "
                           "or give a plugin as 'package.module:Class'")
    module_name, _, class_name = name.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as err:
        raise ManagerError(f"cannot load manager plugin {name!r}: {err}") from None
    if not (isinstance(cls, type) and callable(getattr(cls, "choose", None))):
        raise ManagerError(f"manager plugin {name!r} is not a class with a choose(obs) method")
    return cls


__all__ = ["MANAGERS", "Manager", "ManagerError", "ZoneObservation", "manager_class"]
