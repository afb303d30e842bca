"""``functools.singledispatchmethod`` without its cost on every attribute access.

On Python 3.11, each ``self._mutate`` builds a new wrapper function and copies the dispatched
method's metadata onto it (``update_wrapper``) before the call; replaying an aggregate pays that
once per event. py-spy put it at 6% of the gateway's CPU while it projected 200 new jobs. Here
an access binds one small method object, and the type lookup is singledispatch's own cache.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import singledispatch
from types import MethodType
from typing import Any, Generic, TypeVar, overload

F = TypeVar("F", bound=Callable[..., Any])
R = TypeVar("R")


class event_dispatch(Generic[R]):
    """A method chosen by the type of its first argument after ``self``; ``register`` a method
    per type by its annotation, as with ``singledispatchmethod``."""

    def __init__(self, default: Callable[[Any, Any], R]) -> None:
        self._dispatcher = singledispatch(default)
        self.__doc__ = default.__doc__

    @overload
    def register(self, target: type) -> Callable[[F], F]: ...
    @overload
    def register(self, target: F) -> F: ...
    def register(self, target: type | F) -> F | Callable[[F], F]:
        """``@m.register`` (type from the annotation) or ``@m.register(SomeType)``."""
        if isinstance(target, type):
            chosen = target

            def by_type(method: F) -> F:
                self._dispatcher.register(chosen, method)
                return method

            return by_type
        self._dispatcher.register(target)
        return target

    def _call(self, owner: Any, arg: Any) -> R:
        method: Callable[[Any, Any], R] = self._dispatcher.dispatch(arg.__class__)
        return method(owner, arg)

    def __get__(self, obj: Any, objtype: type | None = None) -> Callable[[Any], R]:
        if obj is None:
            return self  # type: ignore[return-value]  # the class attribute, for register
        return MethodType(self._call, obj)
