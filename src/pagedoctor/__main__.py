from __future__ import annotations

import sys

from pagedoctor.cli import main

sys.exit(main())
