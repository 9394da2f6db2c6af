"""Reading TAP as its consumers do: `prove` (Perl's TAP::Harness and its YAMLish
reader), PyYAML, and tap.py (Python's TAP library, which ends a YAML block at
any indented line starting with `...`)."""

import json
import os
import shutil
import subprocess

import pytest

PROVE = shutil.which("prove") or "/usr/bin/prove"

# Every test's verdict and parsed YAML block, as TAP::Parser (prove's parser) reads them.
PERL_DUMP = r"""
use strict; use warnings;
use TAP::Parser; use JSON::PP;
local $/; open my $fh, '<:raw', $ARGV[0] or die "$ARGV[0]: $!"; my $tap = <$fh>;
my $parser = TAP::Parser->new({tap => $tap});
my (@tests, $last);
while (my $r = $parser->next) {
  if ($r->is_test) {
    $last = {number => $r->number, ok => $r->is_ok ? 1 : 0, actual_ok => $r->is_actual_ok ? 1 : 0,
             todo => $r->has_todo ? 1 : 0, skip => $r->has_skip ? 1 : 0, yaml => undef};
    push @tests, $last;
  } elsif ($r->is_yaml) {
    $last->{yaml} = $r->data if $last;
  }
}
print JSON::PP->new->canonical->encode({tests => \@tests, parse_errors => [$parser->parse_errors],
                                        plan => $parser->plan});
"""


def require_prove():
    if not os.path.exists(PROVE):
        pytest.skip("prove (Perl's TAP::Harness) is not installed")


def prove(path):
    """prove's run over a TAP file (`--exec cat` feeds it the file as a test's output)."""
    require_prove()
    return subprocess.run([PROVE, "--exec", "cat", str(path)], capture_output=True, text=True, timeout=60)


def assert_prove_reads(path, tests, failed):
    """prove parses the whole file: no parse error, the plan's count of tests, `failed` of them failing."""
    run = prove(path)
    assert "Parse errors" not in run.stdout and "Bad plan" not in run.stdout, run.stdout
    assert f"Tests={tests}," in run.stdout, run.stdout
    if failed:
        assert run.returncode != 0 and f"Failed: {failed})" in run.stdout, run.stdout
    else:
        assert run.returncode == 0 and "Result: PASS" in run.stdout, run.stdout


def perl_read(path):
    """{"tests": [{number, ok, todo, skip, yaml}], "parse_errors": [...], "plan": "1..N"} as TAP::Parser sees them."""
    require_prove()
    run = subprocess.run(["perl", "-e", PERL_DUMP, str(path)], capture_output=True, timeout=60)
    assert run.returncode == 0, run.stderr.decode()
    return json.loads(run.stdout.decode("utf-8"))


def yaml_blocks(text):
    """{test number: the YAML block under it, parsed by PyYAML} (indentation of `---` removed, as TAP readers do)."""
    yaml = pytest.importorskip("yaml", reason="PyYAML is not installed (pip install pyyaml)")
    blocks, number, lines, pad = {}, None, None, 0
    for line in text.splitlines():
        if lines is not None:
            if line == " " * pad + "...":
                blocks[number] = yaml.safe_load("\n".join(lines))
                lines = None
            else:
                lines.append(line[pad:])
        elif line.startswith(("ok ", "not ok ")):
            number = int(line.split()[1 if line.startswith("ok") else 2])
        elif line.strip() == "---":
            pad, lines = line.index("-"), []
    assert lines is None, "a YAML block without its `...`"
    return blocks


def tappy_blocks(text):
    """{test number: its YAML block} as tap.py (Python's TAP library) reads them."""
    parser_module = pytest.importorskip("tap.parser", reason="tap.py is not installed (pip install 'tap.py[yaml]')")
    blocks = {}
    for line in parser_module.Parser().parse_text(text):
        if line.category == "test" and line.yaml_block is not None:
            blocks[line.number] = line.yaml_block
    return blocks
