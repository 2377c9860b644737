"""containerfile: the parser (continuations, comments, JSON forms, flags), the variable expansion,
and the build context's .dockerignore (pure, no root)."""
import pytest

from ansible_collections.mydocker.runtime.plugins.module_utils.engine import containerfile as cf
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.buildcontext import Context
from ansible_collections.mydocker.runtime.plugins.module_utils.engine.errors import MyDockerError

TEXT = """\
# syntax comment
ARG BASE=busybox
FROM $BASE

# a comment between instructions
RUN echo one \\
    two \\
# a comment inside a continuation
    three
run ["/bin/sh", "-c", "echo json"]
COPY --chown=1:2 a b /dest/
ENV A=1 B="two words" \\
    C=3
ENV LEGACY value with spaces
CMD ["x"]
ENTRYPOINT echo hi
"""


def test_instructions_lines_continuations_and_forms():
    ins = cf.parse(TEXT, "Containerfile")
    assert [(i.cmd, i.line) for i in ins] == [("ARG", 2), ("FROM", 3), ("RUN", 6), ("RUN", 10), ("COPY", 11),
                                              ("ENV", 12), ("ENV", 14), ("CMD", 15), ("ENTRYPOINT", 16)]
    run = ins[2]
    assert run.raw == "echo one     two     three" and run.json is None
    assert cf.command(run) == ["/bin/sh", "-c", "echo one     two     three"]
    assert ins[3].json == ["/bin/sh", "-c", "echo json"] and cf.command(ins[3]) == ins[3].json
    assert ins[4].flags == {"chown": "1:2"} and cf.sources(ins[4]) == (["a", "b"], "/dest/")
    assert cf.pairs(ins[5]) == [("A", "1"), ("B", "two words"), ("C", "3")]
    assert cf.pairs(ins[6]) == [("LEGACY", "value with spaces")]
    assert cf.command(ins[8]) == ["/bin/sh", "-c", "echo hi"]
    assert ins[2].where == "Containerfile:6"


def test_a_json_form_that_is_not_json_is_the_shell_form():
    ins = cf.parse("FROM x\nRUN [not json\n")
    assert ins[1].json is None and cf.command(ins[1]) == ["/bin/sh", "-c", "[not json"]
    with pytest.raises(MyDockerError, match=r"^Containerfile:2: CMD: the JSON form must be an array of strings"):
        cf.parse('FROM x\nCMD ["a", 1]\n')


@pytest.mark.parametrize("text, message", [
    ("FROM x\nFROBNICATE y\n", r"^Dockerfile:2: unknown instruction FROBNICATE$"),
    ("RUN x\n", r"^Dockerfile:1: the first instruction must be FROM \(not RUN\)$"),
    ("# nothing\n", r"^Dockerfile: no FROM instruction$"),
    ("FROM x\nCOPY --from=a b c\n", r"^Dockerfile:2: COPY: unknown flag --from=a$"),
    ("FROM x\nHEALTHCHECK NONE\n", r"^Dockerfile:2: HEALTHCHECK is not supported"),
    ("FROM x\nFROM y\n", r"^Dockerfile:2: multi-stage builds"),
    ("FROM x\nRUN\n", r"^Dockerfile:2: RUN needs an argument$"),
])
def test_bad_lines_are_one_line_errors_naming_the_line(text, message):
    with pytest.raises(MyDockerError, match=message):
        cf.parse(text, "Dockerfile")


def test_expansion():
    env = {"A": "x", "EMPTY": ""}
    assert cf.expand("$A/${A}/${B:-def}/${A:-def}/${A:+alt}/${B:+alt}/\\$A", env) == "x/x/def/x/alt//$A"
    assert cf.expand("${EMPTY:-d}", env) == "d"
    assert cf.expand("$ $1 a$", env) == "$ $1 a$"
    with pytest.raises(MyDockerError, match="bad substitution"):
        cf.expand("${A", env, "F:1")


def test_arg_and_label_pairs():
    ins = cf.parse('FROM x\nARG A B=2\nLABEL "k 1"=v k2="v 2"\nENV bad-name=1\n')
    assert cf.pairs(ins[1]) == [("A", None), ("B", "2")]
    assert cf.pairs(ins[2]) == [("k 1", "v"), ("k2", "v 2")]
    with pytest.raises(MyDockerError, match="^Containerfile:4: ENV has an invalid variable name 'bad-name'"):
        cf.pairs(ins[3])


def test_escape_directive_and_crlf():
    ins = cf.parse("# escape=`\r\nFROM x\r\nRUN a `\r\n  b\r\n")
    assert [i.cmd for i in ins] == ["FROM", "RUN"] and ins[1].raw == "a   b"


def test_dockerignore(tmp_path):
    (tmp_path / ".dockerignore").write_text("# comment\n*.log\n**/*.tmp\nbuild\n!build/keep\n")
    c = Context(str(tmp_path))
    assert c.ignored("x.log") and not c.ignored("sub/x.log")  # Docker: anchored at the context
    assert c.ignored("a/b/c.tmp") and c.ignored("c.tmp")
    assert c.ignored("build") and c.ignored("build/other") and not c.ignored("build/keep")
    assert not c.ignored("src/main.c")
