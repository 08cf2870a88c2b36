"""python -m benchmarks: the runner-overhead benchmark."""

from benchmarks.overhead import main

main()
