#!/bin/bash
# Run D (session 11): run C's checkpoint continued with a dedicated core and an L2-SP pull toward the shipped
# weights (weight 1.0). Needs the two feature caches of runs B/C (cache.py; see README.md) in /tmp.
# Session 11 ran it on a copy of checkpoint_runC.pt; this resumes checkpoint_runD.pt (raise --max-minutes).
cd "$(dirname "$0")/../../.."
export PYTHONPATH=$PWD OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE
exec nice -n 3 python -m vos_core.interactive.clicks.train --cache /tmp/clicks_distractor_cache --cache /tmp/clicks_zoom_cache \
  --checkpoint weights/training/clicks-distractors/checkpoint_runD.pt --anchor weights/clicks.pt --anchor-weight 1.0 \
  --lr 5e-5 --max-minutes 163 --save-minutes 5 --freeze-bn --resume
