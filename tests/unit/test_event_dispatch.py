"""event_dispatch chooses as singledispatchmethod does: annotation, explicit types, subclasses,
and the default for anything else."""

from __future__ import annotations

from bdg_jobs.event_dispatch import event_dispatch


class Base: ...


class Child(Base): ...


class Other: ...


class Third: ...


class Seen:
    def __init__(self) -> None:
        self.log: list[str] = []

    @event_dispatch
    def see(self, event: object) -> None:
        """What nothing else handles."""
        self.log.append(f"default {type(event).__name__}")

    @see.register
    def _(self, event: Base) -> None:
        self.log.append(f"base {type(event).__name__}")

    @see.register(Other)
    @see.register(Third)
    def _(self, event: Other | Third) -> None:
        self.log.append(f"explicit {type(event).__name__}")


def test_dispatch_by_type_on_each_instance() -> None:
    first, second = Seen(), Seen()
    for event in (Base(), Child(), Other(), Third(), 42):
        first.see(event)
    second.see(Child())
    assert first.log == [
        "base Base",
        "base Child",
        "explicit Other",
        "explicit Third",
        "default int",
    ]
    assert second.log == ["base Child"]
    assert Seen.see.__doc__ == "What nothing else handles."
