import unittest

from lru import LRU


class EvictionTest(unittest.TestCase):
    def test_evicts_least_recently_put(self):
        cache = LRU(2)
        cache.put("a", 1)
        cache.put("b", 2)
        cache.put("c", 3)
        self.assertIsNone(cache.get("a"))
        self.assertEqual((cache.get("b"), cache.get("c")), (2, 3))
        self.assertEqual(len(cache), 2)

    def test_get_counts_as_use(self):
        cache = LRU(2)
        cache.put("a", 1)
        cache.put("b", 2)
        cache.get("a")
        cache.put("c", 3)
        self.assertEqual(cache.get("a"), 1)
        self.assertIsNone(cache.get("b"))

    def test_update_evicts_nothing_and_counts_as_use(self):
        cache = LRU(2)
        cache.put("a", 1)
        cache.put("b", 2)
        cache.put("a", 10)
        self.assertEqual(len(cache), 2)
        cache.put("c", 3)
        self.assertEqual(cache.get("a"), 10)
        self.assertIsNone(cache.get("b"))

    def test_capacity_must_be_positive(self):
        for bad in (0, -3):
            with self.assertRaises(ValueError):
                LRU(bad)
