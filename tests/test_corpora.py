"""The seven corpora's loaders on tiny synthetic trees that mimic their layouts, the pool, the
class mapping, the checksum checks, speaker- and corpus-disjoint folds and balanced sampling."""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from lightser_export.corpora import (
    CLASSES,
    CORPORA,
    GENERAL_LABELS,
    LABEL_MAPS,
    READERS,
    SOURCES,
    load,
    load_corpus,
    load_pool,
    provenance,
)
from lightser_export.datasets import DatasetError
from lightser_export.folds import corpus_folds, corpus_speaker_folds, speaker_folds
from lightser_export.sampling import corpus_class_weights

# (path relative to the corpus folder, expected label, expected speaker id) for each corpus
TREES = {
    "tess": [("TESS_Toronto_emotional_speech_set_data/OAF_angry/OAF_back_angry.wav", "anger", "OAF"),
             ("TESS_Toronto_emotional_speech_set_data/OAF_pleasant_surprise/OAF_bar_ps.wav", "surprise", "OAF"),
             ("TESS_Toronto_emotional_speech_set_data/YAF_sad/YAF_beg_sad.wav", "sadness", "YAF"),
             ("TESS_Toronto_emotional_speech_set_data/YAF_disgust/YAF_bite_disgust.wav", "disgust", "YAF")],
    "savee": [("data/SAVEE/DC_a01.wav", "anger", "DC"), ("data/SAVEE/JE_sa03.wav", "sadness", "JE"),
              ("data/SAVEE/JK_su15.wav", "surprise", "JK"), ("data/SAVEE/KL_n30.wav", "neutral", "KL")],
    "emovo": [("data/EMOVO/f1/gio-f1-b1.wav", "happiness", "f1"), ("data/EMOVO/m3/pau-m3-l4.wav", "fear", "m3"),
              ("data/EMOVO/m2/sor-m2-n5.wav", "surprise", "m2")],
    "nemo": [("samples/KS0_surprised_70.wav", "surprise", "KS0"), ("samples/EB0_neutral_13.wav", "neutral", "EB0"),
             ("samples/WR0_anger_1.wav", "anger", "WR0")],
    "ased": [("01Neutral/n1-01-01-01-01.wav", "neutral", "01"), ("05Angry/a5-03-02-02-50.wav", "anger", "50"),
             ("04Sad/S4-04-02-01-29.wav", "sadness", "29")],  # one real file starts with a capital S
    "urdu": [("Angry/SM1_F10_A010.wav", "anger", "SM1"), ("Happy/SF3_F2_H01.wav", "happiness", "SF3")],
    "esd0020": [("Emotion Speech Dataset/0020/Angry/0020_000351.wav", "anger", "0020"),
                ("Emotion Speech Dataset/0020/Surprise/0020_001512.wav", "surprise", "0020")],
}
NEMO_TABLE = ("file_id\temotion\traw_text\tnormalized_text\tspeaker_id\tgender\tage\n"
              "KS0_surprised_70.wav\tsurprised\tA.\ta\t        KS0\tmale\t23\n"
              "EB0_neutral_13.wav\tneutral\tB.\tb\t        EB0\tfemale\t27\n"
              "WR0_anger_1.wav\tanger\tC.\tc\t        WR0\tmale\t23\n")


def _make(root: Path, corpus: str) -> Path:
    """A tiny tree of `corpus` under `root/corpus` (the files hold their own name, not audio) and
    its checksum list under `root/sums`."""
    folder = root / corpus
    for name, _, _ in TREES[corpus]:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(name.encode())
    if corpus == "nemo":
        (folder / "data.tsv").write_text(NEMO_TABLE, encoding="utf-8")
    if corpus == "esd0020":
        (folder / "Emotion Speech Dataset/0020/.DS_Store").write_bytes(b"\0")
    (root / "sums").mkdir(exist_ok=True)
    lines = [f"{hashlib.sha256(name.encode()).hexdigest()}  {name}" for name, _, _ in TREES[corpus]]
    (root / "sums" / f"{corpus}.sha256").write_text("\n".join(lines) + "\n")
    return folder


@pytest.mark.parametrize("corpus", sorted(READERS))
def test_each_loader_reads_speaker_and_label_from_its_layout(tmp_path, corpus):
    folder = _make(tmp_path, corpus)
    dataset = load_corpus(corpus, folder, checksums=tmp_path / "sums", verify=True)
    got = {(u.path.relative_to(folder).as_posix(), u.label, u.speaker) for u in dataset.utterances}
    assert got == {(name, label, f"{corpus}/{speaker}") for name, label, speaker in TREES[corpus]}
    assert {u.corpus for u in dataset.utterances} == {corpus}
    assert dataset.labels == tuple(c for c in CLASSES if c in {label for _, label, _ in TREES[corpus]})
    assert load(corpus, folder).utterances == dataset.utterances  # the dispatcher, no checksum list


def test_every_corpus_label_maps_onto_the_class_set():
    assert set(LABEL_MAPS) == set(READERS) == set(SOURCES)
    for corpus, mapping in LABEL_MAPS.items():
        assert set(mapping.values()) <= set(CLASSES), corpus
    assert LABEL_MAPS["emovo"]["gio"] == "happiness" and LABEL_MAPS["tess"]["pleasant_surprise"] == "surprise"
    assert LABEL_MAPS["nemo"]["surprised"] == "surprise" and LABEL_MAPS["savee"]["sa"] == "sadness"


def test_a_missing_corpus_names_what_to_fetch(tmp_path):
    with pytest.raises(DatasetError, match="fetch robertjkeck2/EmoNet"):
        load_corpus("savee", tmp_path / "savee")


def test_an_incomplete_corpus_is_one_error_naming_the_missing_file(tmp_path):
    folder = _make(tmp_path, "savee")
    (folder / "data/SAVEE/JE_sa03.wav").unlink()
    with pytest.raises(DatasetError, match=r"savee: 1 of 4 files missing .*JE_sa03.wav.*fetch robertjkeck2/EmoNet"):
        load_corpus("savee", folder, checksums=tmp_path / "sums")


def test_verify_finds_a_changed_file_and_only_with_verify(tmp_path):
    folder = _make(tmp_path, "urdu")
    (folder / "Happy/SF3_F2_H01.wav").write_bytes(b"changed")
    assert len(load_corpus("urdu", folder, checksums=tmp_path / "sums").utterances) == 2
    with pytest.raises(DatasetError, match=r"urdu: 1 of 2 files differ from their checksums .*SF3_F2_H01"):
        load_corpus("urdu", folder, checksums=tmp_path / "sums", verify=True)


def test_a_file_off_the_layout_is_named(tmp_path):
    folder = _make(tmp_path, "savee")
    (folder / "data/SAVEE/DC_x01.wav").write_bytes(b"?")
    with pytest.raises(DatasetError, match="DC_x01.wav: name does not follow the savee layout"):
        load_corpus("savee", folder)


def test_pool_keeps_the_general_classes_and_no_corpus_gives_a_class_it_lacks(tmp_path, emodb_root):
    for corpus in READERS:
        _make(tmp_path, corpus)
    pool = load_pool(tmp_path, emodb_root, checksums=tmp_path / "sums")
    assert pool.labels == GENERAL_LABELS
    assert {u.label for u in pool.utterances} <= set(GENERAL_LABELS)
    assert set(pool.corpora()) == set(CORPORA)
    for corpus in READERS:  # e.g. urdu has no disgust: it gives none
        own = {label for _, label, _ in TREES[corpus]} & set(GENERAL_LABELS)
        assert {u.label for u in pool.utterances if u.corpus == corpus} == own
    emodb = [u for u in pool.utterances if u.corpus == "emodb"]
    assert len(emodb) == 535 - 81 and all(u.speaker.startswith("emodb/") for u in emodb)  # boredom left out
    info = provenance(pool)
    assert info["nemo"]["licence"] == "CC BY-NC-SA 4.0" and info["emodb"]["speakers"] == 10


def test_pool_refuses_unknown_corpora(tmp_path):
    with pytest.raises(DatasetError, match="corpora \\['ravdess'\\]"):
        load_pool(tmp_path, None, corpora=("ravdess",))


def _toy_pool(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """speakers, corpora and labels of a pool: 4 corpora of 1, 3, 6 and 20 speakers, uneven sizes."""
    rng = np.random.default_rng(seed)
    speakers, corpora = [], []
    for corpus, n_speakers, clips in (("a", 1, 300), ("b", 3, 40), ("c", 6, 30), ("d", 20, 10)):
        for s in range(n_speakers):
            speakers += [f"{corpus}/{s}"] * clips
            corpora += [corpus] * clips
    labels = rng.integers(0, 4, len(speakers))
    labels[np.asarray(corpora) == "b"] %= 2  # corpus b has two classes only
    return np.array(speakers), np.array(corpora), labels


def _speakers_of(speakers: np.ndarray, rows: np.ndarray) -> set[str]:
    return set(speakers[rows].tolist())


@pytest.mark.parametrize("make", [lambda s, c: corpus_folds(s, c), lambda s, c: speaker_folds(s, c)])
def test_folds_never_share_a_speaker(make):
    speakers, corpora, _ = _toy_pool()
    folds = make(speakers, corpora)
    tested = np.concatenate([f.test for f in folds])
    assert sorted(tested.tolist()) == list(range(len(speakers)))  # every clip tested exactly once
    for fold in folds:
        train, val, test = (_speakers_of(speakers, r) for r in (fold.train, fold.val, fold.test))
        assert not (train & val) and not (train & test) and not (val & test)
        assert len(fold.train) + len(fold.val) + len(fold.test) == len(speakers)
        assert val and all(not v.startswith(("a/", "b/")) for v in val)  # corpora under 4 speakers spare none


def test_corpus_folds_test_one_whole_corpus_each():
    speakers, corpora, _ = _toy_pool()
    folds = corpus_folds(speakers, corpora)
    assert [f.test_speaker for f in folds] == ["a", "b", "c", "d"]
    for fold in folds:
        assert set(corpora[fold.test]) == {fold.test_speaker}
        assert fold.test_speaker not in set(corpora[fold.train]) | set(corpora[fold.val])


def test_corpus_speaker_folds_leave_out_one_speaker_with_the_rest_of_the_pool_in_training():
    speakers, corpora, _ = _toy_pool()
    folds = corpus_speaker_folds(speakers, corpora, "c")
    assert [f.test_speaker for f in folds] == [f"c/{s}" for s in range(6)]
    assert sorted(np.concatenate([f.test for f in folds]).tolist()) == np.flatnonzero(corpora == "c").tolist()
    for fold in folds:
        train, val, test = (_speakers_of(speakers, r) for r in (fold.train, fold.val, fold.test))
        assert test == {fold.test_speaker} and not (train & val) and not (train & test) and not (val & test)
        assert len(fold.train) + len(fold.val) + len(fold.test) == len(speakers)
        assert {s for s in train if s.startswith("c/")}, "the corpus's other speakers train"
    with pytest.raises(ValueError, match="2 or more"):
        corpus_speaker_folds(speakers, corpora, "a")


def test_speaker_folds_spread_each_large_corpus_over_every_fold():
    speakers, corpora, _ = _toy_pool()
    for fold in speaker_folds(speakers, corpora, k=5):
        assert "d" in set(corpora[fold.test]) and "c" in set(corpora[fold.test])


def test_balanced_sampling_draws_every_corpus_and_every_class_equally():
    speakers, corpora, labels = _toy_pool()
    weights = corpus_class_weights(corpora, labels)
    assert weights.sum() == pytest.approx(1.0) and np.all(weights > 0)
    for c in np.unique(labels):
        assert weights[labels == c].sum() == pytest.approx(1 / 4)
    rows = np.random.default_rng(1).choice(len(labels), size=20000, p=weights)
    drawn = Counter(corpora[rows].tolist())
    assert set(drawn) == {"a", "b", "c", "d"}
    # class 0 has four owners: each corpus gets about a quarter of its draws, whatever its size
    zero = rows[labels[rows] == 0]
    shares = np.array([np.mean(corpora[zero] == c) for c in "abcd"])
    assert np.allclose(shares, 0.25, atol=0.03)
