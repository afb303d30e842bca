"""A least-recently-used cache."""

from collections import OrderedDict


class LRU:
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.items: OrderedDict[str, object] = OrderedDict()

    def get(self, key: str, default: object = None) -> object:
        return self.items.get(key, default)

    def put(self, key: str, value: object) -> None:
        self.items[key] = value
        if len(self.items) > self.capacity:
            self.items.popitem(last=True)

    def __len__(self) -> int:
        return len(self.items)
