# Run on the lent GPU machine (see lightser_export/remote.py): carry .whl (keras, namex, optree, soundfile, soxr, cffi, pycparser wheels for cp312) and .remote.
# The run folders came back split in four tar files (16 MB per file); they unpack into RUNS=runs/h200.
# EVAL and FIT must be the names that `lightser-train eval --out reports/.../EVAL` and `fit --name NAME`
# (FIT=fit-NAME) will look for under --runs, or --resume finds nothing and trains again here.
set -u
EVAL=${EVAL:-emodb-loso-speed-h200} FIT=${FIT:-fit-emodb}
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:export:sdk KERAS_BACKEND=jax XLA_PYTHON_CLIENT_PREALLOCATE=false PYTHONUNBUFFERED=1 TQDM_DISABLE=1
mkdir -p /tmp/h200/logs
for job in speaker-03 speaker-08 speaker-09 speaker-10 speaker-11 speaker-12 speaker-13 speaker-14 speaker-15 speaker-16; do
  timeout 150 python3 -m lightser_export.remote train --job $job --run-dir /tmp/h200/$EVAL/$job > /tmp/h200/logs/$job.log 2>&1 &
done
timeout 150 python3 -m lightser_export.remote train --job all --run-dir /tmp/h200/$FIT > /tmp/h200/logs/all.log 2>&1 &
wait
tail -n 2 /tmp/h200/logs/*.log
cd /tmp  # one file per 3 runs: a file that comes back must be under 16 MB
tar czf $OUT/p1.tgz h200/$FIT h200/logs h200/$EVAL/speaker-03
tar czf $OUT/p2.tgz h200/$EVAL/speaker-0[89] h200/$EVAL/speaker-10
tar czf $OUT/p3.tgz h200/$EVAL/speaker-1[123]
tar czf $OUT/p4.tgz h200/$EVAL/speaker-1[456]
