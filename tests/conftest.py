import os
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # unit tests draw off-screen; notebooks keep their inline backend

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("COURSE_OFFLINE", "1")

