import sys

from pbxd.cli import main

sys.exit(main())
