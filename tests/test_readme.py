"""The examples in the README and in docs/ are what the bundled model prints today, and their links resolve."""

from __future__ import annotations

import re

from conftest import ROOT, run_lightser

DOCS = {path: path.read_text(encoding="utf-8") for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]}
# Markdown that links to files: the docs, the model cards, the report folders' READMEs.
LINKED = {**DOCS, **{path: path.read_text(encoding="utf-8")
                     for path in [*sorted((ROOT / "models").glob("*.md")), *sorted((ROOT / "reports").rglob("*.md"))]}}
# Pages that other branches add (and the speech gate's report, which `scripts/speech_gate_levels.py` writes and
# docs/speech-gate.md links); a link to one is checked as soon as it exists.
COMING = {ROOT / "docs" / "batch.md", ROOT / "reports" / "speech-gate" / "report.md"}


def _console_examples(text: str) -> list[tuple[list[str], list[str]]]:
    """(arguments, the rows shown for the sample) of each `$ lightser predict ...` on the sample in
    the console blocks of `text`, where the output is shown in full."""
    examples = []
    for block in re.findall(r"```console\n(.*?)```", text, re.S):
        for command, output in re.findall(r"^\$ lightser (predict [^\n]*samples/speech\.wav)\n((?:[^$][^\n]*\n)*)",
                                          block, re.M):
            shown = [line for line in output.splitlines() if line.startswith("samples/speech.wav\t")]
            if shown:
                examples.append((command.split(), shown))
    return examples


def _links(text: str) -> list[tuple[str, str]]:
    """(path, anchor) of each relative link in `text`; the anchor is "" when there is none."""
    targets = re.findall(r"\]\(([^)\s]+)\)", text)
    return [tuple((t + "#").split("#")[:2]) for t in targets if not re.match(r"[a-z]+:|#", t)]


def _anchors(text: str) -> set[str]:
    """GitHub's anchors for the headings of a Markdown text."""
    return {re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
            for heading in re.findall(r"^#+ (.*)$", text, re.M)}


def test_console_examples_match_the_cli():
    examples = [example for text in DOCS.values() for example in _console_examples(text)]
    assert len(_console_examples(DOCS[ROOT / "README.md"])) >= 2
    for args, shown in examples:
        _, stdout, _ = run_lightser(*args)
        rows = [line for line in stdout.splitlines() if line.startswith("samples/speech.wav\t")]  # not the header
        assert rows == shown, (args, stdout)


def test_python_examples_match_the_api():
    from lightser import Recognizer

    rec = Recognizer()
    p = rec.predict(ROOT / "samples/speech.wav")
    timeline = [f"# {s.start} {s.end} {s.prediction.label if s.prediction else 'no speech'}"
                for s in rec.predict_segments(ROOT / "samples/speech.wav")]
    shown = {"label": 0, "dict": 0, "timeline": 0}
    for path, text in DOCS.items():
        for printed in re.findall(r"print\(p\.label, round\(p\.confidence, 3\)\)\s+# (.*)", text):
            assert printed == f"{p.label} {round(p.confidence, 3)}", path
            shown["label"] += 1
        for label, confidence in re.findall(r"# \{'label': '(\w+)', 'confidence': ([0-9.]+)\.\.\.", text):
            assert (label, confidence) == (p.label, f"{p.confidence:.4f}"), path
            shown["dict"] += 1
        for block in re.findall(r"predict_segments\(\"samples/speech\.wav\"\):.*?\n(?:    [^\n]*\n)+((?:# [^\n]*\n)+)",
                                text):
            assert block.splitlines() == timeline, path
            shown["timeline"] += 1
    assert min(shown.values()) >= 2, shown  # the README and docs/api.md


def test_python_examples_are_valid_python():
    blocks = [(path, block) for path, text in DOCS.items() for block in re.findall(r"```python\n(.*?)```", text, re.S)]
    assert len(blocks) >= 2
    for path, block in blocks:
        compile(block, str(path), "exec")


def test_links_in_the_docs_resolve():
    checked = 0
    for path, text in LINKED.items():
        for target, anchor in _links(text):
            resolved = (path.parent / target).resolve()
            if resolved not in COMING:
                assert resolved.exists(), f"{path.relative_to(ROOT)} links to {target}, which does not exist"
                checked += 1
            if anchor and resolved.exists():
                headings = _anchors(resolved.read_text(encoding="utf-8"))
                assert anchor in headings, f"{path.relative_to(ROOT)} links to {target}#{anchor}, no such heading"
    assert checked > 50


def test_the_readme_is_a_front_door():
    readme = DOCS[ROOT / "README.md"]
    assert len(readme.splitlines()) <= 150
    first_block = re.search(r"```bash\n(.*?)```", readme, re.S).group(1)
    assert "lightser predict samples/speech.wav" in first_block and "python -m pytest" in first_block
