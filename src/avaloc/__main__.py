import sys

from avaloc.cli.main import main

sys.exit(main())
