import unittest

from stack import EmptyStackError, Stack


class EmptyStackTest(unittest.TestCase):
    def test_is_an_index_error(self):
        self.assertTrue(issubclass(EmptyStackError, IndexError))

    def test_pop_on_empty(self):
        with self.assertRaises(EmptyStackError) as raised:
            Stack().pop()
        self.assertEqual(str(raised.exception), "stack is empty")

    def test_peek_on_empty(self):
        with self.assertRaises(EmptyStackError) as raised:
            Stack().peek()
        self.assertEqual(str(raised.exception), "stack is empty")

    def test_emptied_again(self):
        stack = Stack()
        stack.push(None)
        self.assertIsNone(stack.pop())
        with self.assertRaises(EmptyStackError):
            stack.pop()

    def test_still_works(self):
        stack = Stack()
        stack.push(1)
        stack.push(2)
        self.assertEqual(stack.peek(), 2)
        self.assertEqual(stack.pop(), 2)
        self.assertEqual(len(stack), 1)
