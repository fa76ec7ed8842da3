"""``python -m ppnb.cli``: the ``ppnb`` command."""

import sys

from . import main

sys.exit(main())
