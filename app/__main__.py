"""``python -m app`` starts voxcap exactly like the ``voxcap`` command."""
from __future__ import annotations

import sys

from app.cli import main

sys.exit(main())
