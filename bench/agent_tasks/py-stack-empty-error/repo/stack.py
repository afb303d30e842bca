"""A last-in, first-out stack."""


class Stack:
    def __init__(self) -> None:
        self._items: list[object] = []

    def push(self, item: object) -> None:
        self._items.append(item)

    def pop(self) -> object:
        """Remove and return the top item."""
        return self._items.pop()

    def peek(self) -> object:
        """The top item, left in place."""
        return self._items[-1]

    def is_empty(self) -> bool:
        return not self._items

    def __len__(self) -> int:
        return len(self._items)
