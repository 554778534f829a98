"""The snippets of docs/*.md run and print what the page says they print: each ```python
block is followed by a ```text block with its output."""
import contextlib
import io
import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
PAIR = re.compile(r"```python\n(.*?)```\s*```text\n(.*?)```", re.S)


def _snippets():
    for page in sorted(DOCS.glob("*.md")):
        for i, (code, output) in enumerate(PAIR.findall(page.read_text(encoding="utf-8"))):
            yield pytest.param(code, output, id=f"{page.stem}-{i}")


@pytest.mark.parametrize("code, output", list(_snippets()))
def test_doc_snippet_prints_what_the_page_shows(code, output):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "doc snippet", "exec"), {})
    assert out.getvalue() == output


def test_autograd_page_has_its_snippets():
    assert len([p for p in _snippets() if "autograd" in p.id]) >= 8
