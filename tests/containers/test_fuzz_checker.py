"""The static checker judges 2,000 hostile specs inside real runc containers (fixed
seed): no traceback, no non-zero exit, no hang, TAP every time (issue 11).
`make fuzz` runs more, with another seed each time (tests/fuzz_checker.py)."""

from conftest import requires_root
from fuzz_checker import fuzz, problems

pytestmark = requires_root

SPECS, SEED = 2000, 11


def test_hostile_specs_never_crash_or_hang_the_checker(checker_binary):
    found, seconds = fuzz(SPECS, SEED, jobs=2)
    print(f"{found['judged']} specs judged in {seconds:.1f}s; slowest: {', '.join(found['slowest'])}")
    assert found["finished"] and found["judged"] == SPECS, found["not_run"][:10]
    assert problems(found) == {}
