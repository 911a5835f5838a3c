"""Launch the VOS Annotator: ``python main.py [VIDEO_OR_FOLDER] [--project DIR]``."""

import sys

from app.main import main

if __name__ == "__main__":
    sys.exit(main())
