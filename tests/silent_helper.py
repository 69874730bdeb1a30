"""A geometry helper that says it is ready, then reads snapshots and never answers: what a stuck
helper looks like to its parent (tests/test_run_end.py starts it in the real helper's place)."""

import sys

from ginn_gl.train.geometry_helper import PipeReader, Wire, die_with_parent, wire_zeros

if __name__ == "__main__":
    die_with_parent()
    reader = PipeReader(sys.stdin.buffer)
    wire, _ = Wire.read_header(reader.read)
    sys.stdout.buffer.write(wire.reply(Wire.READY, 0.0, *wire_zeros(wire)))
    sys.stdout.buffer.flush()
    try:
        while True:
            reader.read(1)
    except EOFError:
        pass
