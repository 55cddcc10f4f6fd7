"""Quality benchmark: the same as ``edgefill bench quality`` (see edgefill/quality.py).

    python benchmarks/quality.py --models lite,nano --family all --json bench_out/quality.json --png bench_out/quality.png
"""

import sys

from edgefill.quality import main

if __name__ == "__main__":
    sys.exit(main())
