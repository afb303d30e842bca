from stack import Stack


def test_last_in_first_out():
    stack = Stack()
    stack.push(1)
    stack.push(2)
    assert stack.pop() == 2
    assert stack.pop() == 1
    assert stack.is_empty()


def test_peek_leaves_the_item():
    stack = Stack()
    stack.push("a")
    assert stack.peek() == "a"
    assert len(stack) == 1
