import os
import sys

# The test helpers (stores.py) import as a plain module.
sys.path.insert(0, os.path.dirname(__file__))
