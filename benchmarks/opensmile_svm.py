"""A classic lightweight peer: openSMILE functionals (eGeMAPS, ComParE-2016) + linear SVM.

Speaker-independent on EMO-DB with the same leave-one-speaker-out folds as our model
(`lightser_export.protocols.loso_folds`): the SVM's C is chosen on the fold's validation
speaker, the model refitted on training + validation speakers, then scored on the test
speaker. Two test-time normalisations, as in our report:
- default: features standardised with the training speakers' statistics;
- enrolled: every speaker z-scored with their own statistics; a test clip with those of
  the speaker's OTHER clips (no labels, never the clip itself).
Latency is per clip through the openSMILE package as users call it (`process_file`).
"""

from __future__ import annotations

import hashlib
import sys
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import soundfile

from lightser import bench
from lightser_export.datasets import load_emodb
from lightser_export.folds import loso_folds
from lightser_export.metrics import summary, unweighted_accuracy

from .common import CACHE, ROOT, test_clip

EMODB = ROOT.parent / "shared" / "data" / "emodb"
C_GRID = (1e-4, 1e-3, 1e-2, 1e-1, 1.0)
MODES = ("default", "enrolled")


def smile(feature_set: str) -> Any:
    """An openSMILE extractor of `feature_set` ("eGeMAPS" or "ComParE") functionals."""
    import opensmile  # the bench extra; the normalisation and folds below need only NumPy

    sets = {"eGeMAPS": opensmile.FeatureSet.eGeMAPSv02, "ComParE": opensmile.FeatureSet.ComParE_2016}
    return opensmile.Smile(sets[feature_set], opensmile.FeatureLevel.Functionals)


def _cache_file(feature_set: str, paths: Sequence[Path]) -> Path:
    """Where the functionals of exactly these clips, in this order, are cached."""
    digest = hashlib.sha1("\n".join(str(Path(p).resolve()) for p in paths).encode()).hexdigest()[:12]
    return CACHE / f"opensmile-{feature_set}-{len(paths)}-{digest}.npz"


def extract(feature_set: str, paths: Sequence[Path]) -> tuple[np.ndarray, np.ndarray]:
    """(clips, features) functionals and each clip's extraction seconds; cached on disk.
    Progress goes to stderr every 500 clips."""
    cache = _cache_file(feature_set, paths)
    if cache.is_file():
        stored = np.load(cache)
        return stored["x"], stored["seconds"]
    extractor, rows, seconds = smile(feature_set), [], []
    for done, path in enumerate(paths, start=1):
        started = time.perf_counter()
        rows.append(extractor.process_file(str(path)).to_numpy()[0])
        seconds.append(time.perf_counter() - started)
        if done % 500 == 0:
            print(f"[opensmile] {feature_set}: {done}/{len(paths)} clips, {sum(seconds):.0f} s", file=sys.stderr,
                  flush=True)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, x=np.asarray(rows, np.float64), seconds=np.asarray(seconds))
    return np.asarray(rows, np.float64), np.asarray(seconds)


def _zscore(x: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    return (x - mean) / np.where(std > 0, std, 1.0)


def _own(x: np.ndarray) -> np.ndarray:
    return _zscore(x, x.mean(0), x.std(0))


def others_stats(x: np.ndarray) -> np.ndarray:
    """One speaker's clips, each z-scored with the mean and std of the speaker's other clips."""
    n, total, squares = len(x), x.sum(0), np.square(x).sum(0)
    if n < 2:
        raise ValueError("per-speaker normalisation needs 2 or more clips of the speaker, got 1")
    mean = (total - x) / (n - 1)
    var = (squares - np.square(x)) / (n - 1) - np.square(mean)
    return _zscore(x, mean, np.sqrt(np.maximum(var, 0.0)))


def per_speaker(x: np.ndarray, speakers: np.ndarray, rows: np.ndarray,
                normalise: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """`x[rows]`, each speaker's clips among `rows` passed through `normalise` together."""
    out = np.empty((len(rows), x.shape[1]))
    for speaker in np.unique(speakers[rows]):
        mine = speakers[rows] == speaker
        out[mine] = normalise(x[rows][mine])
    return out


def normalised(x: np.ndarray, speakers: np.ndarray, fit_rows: np.ndarray, rows: np.ndarray, mode: str,
            test: bool) -> np.ndarray:
    """Normalised `x[rows]`: with `fit_rows`' statistics (default), or per speaker (enrolled; a test
    clip with the statistics of its speaker's other test clips)."""
    if mode == "default":
        return _zscore(x[rows], x[fit_rows].mean(0), x[fit_rows].std(0))
    return per_speaker(x, speakers, rows, others_stats if test else _own)


def _svm(c: float) -> Any:
    from sklearn.svm import SVC

    return SVC(kernel="linear", C=c)  # one-vs-one; on ~500 clips far quicker to fit than LinearSVC


def run_fold(x: np.ndarray, y: np.ndarray, speakers: np.ndarray, fold: Any, mode: str, n_classes: int,
             svm: Callable[[float], Any] = _svm) -> tuple[np.ndarray, float, Any]:
    """Test predictions, the C chosen on the validation speakers, and the classifier made by
    `svm(C)` refitted on training + validation speakers."""
    train_x = normalised(x, speakers, fold.train, fold.train, mode, test=False)
    val_x = normalised(x, speakers, fold.train, fold.val, mode, test=False)
    scores = [unweighted_accuracy(y[fold.val], svm(c).fit(train_x, y[fold.train]).predict(val_x), n_classes)
              for c in C_GRID]
    best_c = C_GRID[int(np.argmax(scores))]
    both = np.concatenate([fold.train, fold.val])
    fitted = svm(best_c).fit(normalised(x, speakers, both, both, mode, test=False), y[both])
    return fitted.predict(normalised(x, speakers, both, fold.test, mode, test=True)), best_c, fitted


def linear_bytes(svm: Any, mean: np.ndarray) -> int:
    """What a device needs to ship the classifier: its linear weights and biases, and the
    standardisation (mean, std), all as float32. openSMILE itself is not counted."""
    return 4 * (svm.coef_.size + svm.intercept_.size + 2 * mean.size)


def clip_latency(feature_set: str, svm: Any, mean: np.ndarray, std: np.ndarray, runs: int,
                 warmup: int) -> dict[str, dict[str, float]]:
    """p50/p90/p99/mean ms of openSMILE + standardise + SVM on the 3 s test clip."""
    extractor, clip = smile(feature_set), str(test_clip())
    row = extractor.process_file(clip).to_numpy()
    calls = {
        "features": lambda: extractor.process_file(clip),
        "classifier": lambda: svm.predict(_zscore(row, mean, std)),
        "end_to_end": lambda: svm.predict(_zscore(extractor.process_file(clip).to_numpy(), mean, std)),
    }
    return {name: bench.summarise_ms(s) for name, s in bench.time_stages(calls, runs, warmup, lambda: None).items()}


def evaluate(feature_set: str, runs: int, warmup: int, root: Path = EMODB) -> dict[str, Any]:
    """Pooled metrics per normalisation mode, extraction cost on EMO-DB, and clip latency."""
    dataset = load_emodb(root)
    paths = [u.path for u in dataset.utterances]
    x, seconds = extract(feature_set, paths)
    y = np.asarray(dataset.label_indices())
    speakers = np.asarray([u.speaker for u in dataset.utterances])
    folds = loso_folds(speakers.tolist())
    audio_seconds = np.asarray([soundfile.info(str(p)).duration for p in paths])
    out: dict[str, Any] = {
        "feature_set": feature_set, "n_features": int(x.shape[1]), "n_clips": len(paths),
        "extraction_ms_per_clip": 1000.0 * float(np.mean(seconds)),
        "extraction_ms_per_audio_second": 1000.0 * float(seconds.sum() / audio_seconds.sum()),
        "modes": {},
    }
    deployable = None
    for mode in MODES:
        results = [run_fold(x, y, speakers, fold, mode, len(dataset.labels)) for fold in folds]
        pred = np.concatenate([r[0] for r in results])
        truth = np.concatenate([y[f.test] for f in folds])
        fold_ua = [unweighted_accuracy(y[f.test], r[0], len(dataset.labels)) for f, r in zip(folds, results)]
        out["modes"][mode] = {**summary(truth, pred, dataset.labels), "fold_ua": fold_ua,
                              "fold_ua_mean": float(np.mean(fold_ua)), "fold_ua_sd": float(np.std(fold_ua)),
                              "chosen_c": [r[1] for r in results]}
        deployable = results[0][2] if mode == "default" else deployable
    both = np.concatenate([folds[0].train, folds[0].val])
    mean, std = x[both].mean(0), x[both].std(0)
    out["classifier_bytes"] = linear_bytes(deployable, mean)
    out["clip_latency_ms"] = clip_latency(feature_set, deployable, mean, std, runs, warmup)
    return out
