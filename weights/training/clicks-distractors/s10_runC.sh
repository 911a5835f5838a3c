#!/bin/bash
# run C: from the shipped weights (dev 3.40/12.60), both distractor caches in turn (320 views + 448 zoom views),
# BN frozen, lower lr than run B (5e-5 vs 1e-4) over a longer budget (68 min) so it stays near the shipped head.
cd /work/wt-s10-clicks
export PYTHONPATH=$PWD OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE
exec nice -n 19 python -m vos_core.interactive.clicks.train --cache /tmp/clicks_distractor_cache --cache /tmp/clicks_zoom_cache \
  --checkpoint weights/training/clicks-distractors/checkpoint_runC.pt --init weights/clicks.pt \
  --lr 5e-5 --max-minutes 68 --save-minutes 4 --freeze-bn --resume >> /work/notes/s10/clicks/train_runC.log 2>&1
