import sys

from covalent_core.cli import main

sys.exit(main())
