from flags import flag, parse_bool


def test_yes_is_true() -> None:
    assert parse_bool("yes") is True
    assert parse_bool(" YES ") is True


def test_flag_default() -> None:
    assert flag({}, "debug") is False
    assert flag({"debug": "yes"}, "debug") is True
