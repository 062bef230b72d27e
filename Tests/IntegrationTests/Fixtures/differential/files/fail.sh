#!/bin/sh
# For the script case: fails with status 3 after some output.
echo "about to fail"
echo "failing on purpose" >&2
exit 3
