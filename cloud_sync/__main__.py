"""`python -m cloud_sync cloud serve ...`: the cloud side without the gateway's other commands."""

import sys

from gateway.cli import main

sys.exit(main(modules=("cloud_sync.commands",), prog="python -m cloud_sync"))
