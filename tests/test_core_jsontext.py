"""runtimetest.core.jsontext reads and writes JSON as the json module does, within its bounds."""

import json
import math
import random

import pytest

from runtimetest.core import jsontext

ODD_STRINGS = ["", "plain", 'quote " and \\ backslash', "tab\tnew\nline\r\b\f", "\x00\x1f\x7f", "é ü",
               "\u2028", "\U0001f600", "\udcff surrogate", "/slash", "mixed \x01 é \U0010ffff"]


def random_value(rng, depth=0):
    kind = rng.randrange(9 if depth < 6 else 6)
    if kind == 0:
        return rng.choice([None, True, False])
    if kind == 1:
        return rng.randint(-2**70, 2**70)
    if kind == 2:
        return rng.choice([0.0, -0.0, 1.5, 1e300, -2.5e-300, rng.random() * 10 ** rng.randint(-30, 30)])
    if kind in (3, 4, 5):
        return rng.choice(ODD_STRINGS) + "".join(chr(rng.randrange(0x30000)) for _ in range(rng.randrange(4)))
    if kind in (6, 7):
        return [random_value(rng, depth + 1) for _ in range(rng.randrange(5))]
    return {rng.choice(ODD_STRINGS) + str(rng.randrange(50)): random_value(rng, depth + 1)
            for _ in range(rng.randrange(5))}


def test_values_read_as_json_reads_them_in_every_layout():
    rng = random.Random(1234)
    for _ in range(2000):
        value = random_value(rng)
        for text in (json.dumps(value), json.dumps(value, indent=2), json.dumps(value, ensure_ascii=False)):
            assert jsontext.loads(text) == json.loads(text)
        ascii_text = json.dumps(value).encode()  # what a spec file holds: bytes
        assert jsontext.loads(ascii_text) == json.loads(ascii_text)


def test_values_are_shown_as_json_dumps_shows_them():
    rng = random.Random(99)
    for _ in range(2000):
        value = random_value(rng)
        assert jsontext.dumps(value) == json.dumps(value, ensure_ascii=True, sort_keys=True, default=str)
    for odd in (float("nan"), float("inf"), -float("inf"), (1, "a"), {1: 2, 0: "x"}, {True: 1}, {None: 1},
                {1.5: 2}, ValueError("not JSON")):
        assert jsontext.dumps(odd) == json.dumps(odd, ensure_ascii=True, sort_keys=True, default=str)


@pytest.mark.parametrize("text", ["", " ", "{", "[1,]", '{"a" 1}', '{"a":1,}', "[1 2]", "01", "1.", ".5", "1e",
                                  "-", "+1", '"\\x"', '"\\u12"', '"a\nb"', '"open', "tru", "nul", "[1]x",
                                  "{'a': 1}", '{"a":1}}', "\ufeff{}", "1-2", "--1", "[", "]"])
def test_what_json_refuses_is_refused(text):
    with pytest.raises(ValueError):
        json.loads(text)
    with pytest.raises(ValueError) as refused:
        jsontext.loads(text)
    assert "(char " in str(refused.value) or "BOM" in str(refused.value)


def test_specials_and_escapes_read_like_json():
    for text in ["NaN", "Infinity", "-Infinity", '"\\ud83d\\ude00"', '"\\ud800"', '"\\udc00x"', '"\\/"', "-0",
                 "1E+2", "0.5e-3", " \t\n[ ] ", '{"a":1,"a":2}']:
        expected, found = json.loads(text), jsontext.loads(text)
        assert found == expected or (math.isnan(expected) and math.isnan(found)), text


def test_nesting_is_bounded_without_recursion():
    deep = "[" * 100_000
    with pytest.raises(ValueError, match="nested deeper than 200"):
        jsontext.loads(deep)
    assert jsontext.loads("[" * 200 + "]" * 200) is not None
    with pytest.raises(ValueError, match="nested deeper than 10"):
        jsontext.loads('{"a": [[[[[[[[[[[1]]]]]]]]]]]}', max_depth=10)


def test_reading_is_linear_in_the_text():
    """A million-entry array reads in one pass (a hostile spec's maskedPaths)."""
    paths = [f"/masked/{n}" for n in range(1_000_000)]
    assert jsontext.loads(json.dumps({"maskedPaths": paths}))["maskedPaths"][-1] == paths[-1]


def test_a_circular_value_is_refused_as_json_refuses_it():
    loop = []
    loop.append(loop)
    with pytest.raises(ValueError):
        jsontext.dumps(loop)
