#!/bin/bash
# Grade a chapter of a class as a Slurm job array, one task per shard, into one PostgreSQL
# gradebook (README: At scale). Run from the course's repository (python3 course.py build
# --check ran there once, so that .venv exists), on a file system the nodes share:
#
#   sbatch --export=ALL,CHAPTER=1,SUBMISSIONS=/shared/submissions/01 deploy/slurm-array.sh
#
# Task K of the array grades shard K/M, M being the array's size (change --array to change
# M). The gradebook's URL is the first line of $NNFS_DB_URL_FILE (default ~/.nnfs-db-url,
# readable by you only), its password there or in ~/.pgpass (PGPASSFILE). Re-running a shard
# is safe; to run task K again alone, give M too (an array of one task has M = 1):
#   sbatch --array=K --export=ALL,SHARDS=3,CHAPTER=1,SUBMISSIONS=... deploy/slurm-array.sh
# Then: python3 course.py grades $CHAPTER --db-url-file ~/.nnfs-db-url --out reports/
#SBATCH --job-name=nnfs-grade
#SBATCH --array=1-3
#SBATCH --cpus-per-task=2
#SBATCH --mem=6G
#SBATCH --time=04:00:00
#SBATCH --output=nnfs-grade-%A-%a.out
set -euo pipefail
: "${CHAPTER:?set CHAPTER, e.g. sbatch --export=ALL,CHAPTER=1,SUBMISSIONS=... deploy/slurm-array.sh}"
: "${SUBMISSIONS:?set SUBMISSIONS, the folder (or zip) of the submissions}"
SHARDS="${SHARDS:-${SLURM_ARRAY_TASK_COUNT:?run this with sbatch --array}}"
OUT="${OUT:-${TMPDIR:-/tmp}/nnfs-grade-${SLURM_ARRAY_JOB_ID:-0}-${SLURM_ARRAY_TASK_ID}}"
cd "${SLURM_SUBMIT_DIR:-.}"
exec python3 course.py grade "$CHAPTER" "$SUBMISSIONS" --out "$OUT" \
    --shard "${SLURM_ARRAY_TASK_ID}/${SHARDS}" --db-url-file "${NNFS_DB_URL_FILE:-$HOME/.nnfs-db-url}" \
    --workers "$((2 * ${SLURM_CPUS_PER_TASK:-1}))"
