"""Timing of the screener alone: compiling the word lists, screening one essay, its MinHash signature.

    python bench/screening_bench.py                  # 5,000 words (4,000 banned, 1,000 suspect), 800 characters
    python bench/screening_bench.py --words 20000 --chars 1500

Words (2–4 characters) and the essay (clauses of 8–20 characters with Chinese punctuation) are random
CJK characters from a fixed seed, so two runs on one machine measure the same work. Each figure is
the median wall time of several runs, in process: the CPU share of a submission or of a word-list
change, without the database. It was a test that only printed these numbers (tests never assert a
time: machines differ); it lives here so the suite does not pay for it.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from citizenvoice.domain.screening import Screener, minhash_signature  # noqa: E402


def median_ms(run: Callable[[], object], times: int) -> float:
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        run()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def chinese(rng: random.Random, n: int) -> str:
    return "".join(chr(rng.randint(0x4E00, 0x9FA5)) for _ in range(n))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--words", type=int, default=5000, help="words in the lists, 4/5 banned (default 5000)")
    parser.add_argument("--chars", type=int, default=800, help="length of the screened essay (default 800)")
    parser.add_argument("--seed", type=int, default=2024)
    args = parser.parse_args(argv)

    rng = random.Random(args.seed)
    words = [chinese(rng, rng.randint(2, 4)) for _ in range(args.words)]
    clauses = max(1, args.chars // 8)
    essay = "".join(chinese(rng, rng.randint(8, 20)) + rng.choice("，。；、") for _ in range(clauses))[: args.chars]
    banned, suspect = words[: args.words * 4 // 5], words[args.words * 4 // 5 :]

    build = median_ms(lambda: Screener(banned, suspect), 7)
    screener = Screener(banned, suspect)
    screen = median_ms(lambda: screener.screen(essay), 51)
    signature = median_ms(lambda: minhash_signature(essay), 21)
    print(
        f"build {args.words} words: {build:.1f} ms; screen {len(essay)} chars: {screen:.3f} ms; "
        f"minhash: {signature:.1f} ms"
    )


if __name__ == "__main__":
    main()
