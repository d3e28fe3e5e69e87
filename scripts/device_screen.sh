# Run on the lent GPU machine (see scripts/screen_recipes.py): carry .whl (keras, namex, optree, soundfile, soxr, cffi, pycparser wheels for cp312) and .screen.
set -u
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:export:sdk KERAS_BACKEND=jax XLA_PYTHON_CLIENT_PREALLOCATE=false PYTHONUNBUFFERED=1 TQDM_DISABLE=1
nvidia-smi -L; python3 -c "import jax, keras; print(jax.__version__, keras.__version__, jax.devices())"
mkdir -p /tmp/screen
# RECIPES and SEEDS choose the runs (all at once); the first screen ran
# RECIPES="global speed speed-14ep utterance-mean utterance speed-utterance-mean" with SEEDS="0 1"
# and LIMIT=500, and `speed` missed its last fold or two. speed-wide (5 copies) and speed-60ep train
# 1.5-1.7x as long, so give them all the device's per-command limit allows (600 s less set-up).
for r in ${RECIPES:-speed speed-wide speed-60ep speed-focal}; do
  for s in ${SEEDS:-0 1}; do
    timeout ${LIMIT:-560} python3 -m scripts.screen_recipes run --recipe $r --seed $s --out /tmp/screen > /tmp/screen/$r-$s.log 2>&1 &
  done
done
wait
grep -h "pooled\|UA=" /tmp/screen/*.log | grep pooled
tar czf $OUT/screen.tgz -C /tmp screen
