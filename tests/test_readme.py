"""The README's example outputs are what the bundled model prints today."""

from __future__ import annotations

import re

from conftest import ROOT, run_lightser

README = (ROOT / "README.md").read_text(encoding="utf-8")


def _console_examples() -> list[tuple[list[str], list[str]]]:
    """(arguments, the output lines shown) of each `$ lightser predict ...` on the sample in the
    README's console blocks, where the output is shown in full."""
    examples = []
    for block in re.findall(r"```console\n(.*?)```", README, re.S):
        for command, output in re.findall(r"^\$ lightser (predict [^\n]*samples/speech\.wav)\n((?:[^$][^\n]*\n)*)",
                                          block, re.M):
            shown = [line for line in output.splitlines() if line.startswith("samples/speech.wav\t")]
            if shown:
                examples.append((command.split(), shown))
    return examples


def test_readme_console_examples_match_the_cli():
    examples = _console_examples()
    assert len(examples) >= 2
    for args, shown in examples:
        code, stdout, _ = run_lightser(*args)
        assert code == 0 and stdout.splitlines() == shown, (args, stdout)


def test_readme_python_example_matches_the_api():
    from lightser import Recognizer

    rec = Recognizer()
    p = rec.predict(ROOT / "samples/speech.wav")
    assert f"print(p.label, round(p.confidence, 3))   # {p.label} {round(p.confidence, 3)}" in README
    assert f"'label': '{p.label}', 'confidence': {p.confidence:.4f}..." in README
    timeline = "\n".join(f"# {s.start} {s.end} {s.prediction.label if s.prediction else 'no speech'}"
                         for s in rec.predict_segments(ROOT / "samples/speech.wav"))
    assert timeline in README
