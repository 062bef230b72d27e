# For the script case: run by `executable`, it has no #! line.
import os
import sys

with open(sys.argv[1], 'w') as f:
    f.write('hello from python %d, args %r\n' % (sys.version_info[0], sys.argv[2:]))
print('greeted', os.path.basename(sys.argv[1]))
