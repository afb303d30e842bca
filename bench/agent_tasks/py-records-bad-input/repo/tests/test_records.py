from records import parse


def test_valid_rows() -> None:
    text = "name,email,age\nAda,ada@example.com,36\nAlan,alan@example.com,41\n"
    assert parse(text) == [
        {"name": "Ada", "email": "ada@example.com", "age": 36},
        {"name": "Alan", "email": "alan@example.com", "age": 41},
    ]
