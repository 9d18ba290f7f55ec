import sys

from covalent_core.remote.runner import main

sys.exit(main())
