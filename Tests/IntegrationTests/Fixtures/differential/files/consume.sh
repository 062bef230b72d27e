#!/bin/bash
# For the script case: turns the trigger file in the current directory into its result.
set -e
tr a-z A-Z <trigger >consumed
rm trigger
echo "consumed"
