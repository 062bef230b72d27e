#!/bin/sh
# For the script case: writes the directory it ran in (its last component) and its arguments
# to the file named by the first argument, and says so on stdout and stderr.
out=$1
shift
{
  echo "dir=${PWD##*/}"
  echo "argc=$#"
  for a in "$@"; do printf '[%s]\n' "$a"; done
} >"$out"
echo "wrote ${out##*/} with $# arguments"
echo "a warning — ü" >&2
