from textstats.counts import most_common, word_counts, words


def test_words_keep_apostrophes():
    assert words("don't stop") == ["don't", "stop"]


def test_counts():
    assert word_counts("a b a") == {"a": 2, "b": 1}


def test_most_common():
    assert most_common("x y x z x y", 2) == [("x", 3), ("y", 2)]
