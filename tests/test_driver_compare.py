from runtimetest.driver.compare import compare_stderr, compare_stdout, escape, side_by_side


def test_escape_makes_invisible_bytes_visible():
    assert escape(b"a\tb\r\n\x00\xff\\") == "a\\tb\\r\\n\\x00\\xff\\\\"


def test_side_by_side_marks_the_first_differing_byte():
    text = side_by_side("stdout", b"hello world", b"hello there")
    lines = text.splitlines()
    assert lines[0] == "stdout: first difference at byte 6"
    header, values, carets = lines[1:]
    assert "expected" in header and "actual" in header
    left, right = values.split(" | ")
    left_caret, right_caret = carets.split(" | ")
    assert left.strip() == "hello world" and right.strip() == "hello there"
    assert left_caret.index("^") == values.index("w") and right_caret.index("^") == right.index("t")


def test_trailing_carriage_return_is_shown():
    text = compare_stderr(["x"], b"x\r\n")
    assert "x\\r" in text and "first difference at byte 1" in text


def test_stderr_lines_may_be_patterns():
    assert compare_stderr(["re:a+ [0-9]+"], b"aaa 12\n") is None
    assert "does not match the pattern" in compare_stderr(["re:a+ [0-9]+"], b"b 1\n")


def test_missing_and_extra_lines_are_reported():
    assert "expected line missing" in compare_stderr(["one", "two"], b"one\n")
    assert "unexpected extra line" in compare_stderr([], b"surprise\n")
    assert compare_stderr([], b"") is None


def test_stdout_is_compared_only_when_expected():
    assert compare_stdout(None, b"anything") is None
    assert compare_stdout(b"a", b"a") is None
    assert "stdout: first difference at byte 0" in compare_stdout(b"a", b"b")


def test_long_lines_show_a_window_around_the_difference():
    expected = b"x" * 200 + b"A" + b"y" * 200
    actual = b"x" * 200 + b"B" + b"y" * 200
    text = side_by_side("stderr line 1", expected, actual)
    values = text.splitlines()[2]
    assert "A" in values and "B" in values and len(values) < 200


def test_a_line_missing_in_the_middle_is_named_not_diffed_against_the_next():
    message = compare_stderr(["one", "two", "three"], b"one\nthree\n")
    assert message.splitlines() == ["stderr line 2: expected line missing", "  expected two"]


def test_an_extra_line_in_the_middle_is_named():
    message = compare_stderr(["one", "three"], b"one\nsurprise\nthree\n")
    assert message.splitlines() == ["stderr line 2: unexpected extra line", "  actual   surprise"]


def test_a_changed_line_is_still_shown_side_by_side():
    message = compare_stderr(["one", "two", "three"], b"one\ntwo!\nthree\n")
    assert message.startswith("stderr line 2: first difference at byte 3")


def test_a_missing_pattern_line_is_named():
    message = compare_stderr(["re:a+", "re:b+", "c"], b"aa\nc\n")
    assert message.splitlines() == ["stderr line 2: expected line missing", "  expected re:b+"]


def test_huge_outputs_are_compared_place_by_place():
    expected = [f"line {n}" for n in range(600)]
    actual = "".join(f"line {n}\n" for n in range(1, 601)).encode()
    assert compare_stderr(expected, actual).startswith("stderr line 1: first difference")
