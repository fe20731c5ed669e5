import sys

from teammesh.cli import main

sys.exit(main())
