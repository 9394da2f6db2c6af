"""docs/adding-a-check.md quotes real files: each block under a `from:` marker is that file's text."""

import os
import re

from conftest import ROOT

GUIDE = os.path.join(ROOT, "docs", "adding-a-check.md")
QUOTE = re.compile(r"<!-- from: (?P<path>\S+) -->\n```[a-z]*\n(?P<text>.*?)```", re.S)


def quotes():
    with open(GUIDE) as handle:
        return [(m["path"], m["text"]) for m in QUOTE.finditer(handle.read())]


def test_the_guide_quotes_code_cases_and_expected_lines():
    paths = [path for path, _ in quotes()]
    assert any(path.endswith(".py") for path in paths) and any(path.endswith(".err") for path in paths)


def test_every_quoted_block_is_in_its_file_word_for_word():
    drifted = []
    for path, text in quotes():
        with open(os.path.join(ROOT, path)) as handle:
            if text not in handle.read():
                drifted.append(path)
    assert drifted == [], f"docs/adding-a-check.md no longer matches {drifted}"


def test_every_file_and_test_the_guide_names_exists():
    with open(GUIDE) as handle:
        named = set(re.findall(r"`((?:runtimetest|tests|spec-fixtures)/[\w./-]+?)`", handle.read()))
    missing = [path for path in sorted(named) if not os.path.exists(os.path.join(ROOT, path.rstrip("/")))]
    assert missing == []
