from sortlines import sort_lines


def test_text_order() -> None:
    assert sort_lines(["b", "a", "c"]) == ["a", "b", "c"]


def test_numeric_order() -> None:
    assert sort_lines(["10", "9", "100"], numeric=True) == ["9", "10", "100"]
