import sys

from nemo_mcp.cli import main

sys.exit(main())
