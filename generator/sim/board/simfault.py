# wirestate simulated ESP8266: out-of-memory injection for tests (a real board has no such
# module). Inside run(), reads from the board's sockets (socket and ssl: recv, read, readinto,
# readline) are counted:
# - fail_read=n: the n-th allocating read (recv, read, readline) raises MemoryError, as the
#   allocation of its result would on the board (nothing is consumed);
# - lock_after_read=n: the n-th read that returns data does so, then leaves the heap locked
#   (micropython.heap_lock: every allocation raises MemoryError) until the code next calls
#   into the board (a socket, ssl or select call, a sleep) or run() returns.
# run() disarms and unlocks before it returns or raises (an exception reaching the top level
# with the heap locked would stop the VM), so never lock the heap outside it.
import _simhost

_h = _simhost


def run(f, *args, lock_after_read=0, fail_read=0):
    """f(*args) with a fault armed; returns what f returns, raises what it raises."""
    _h.fault_arm(lock_after_read, fail_read)
    try:
        return f(*args)
    finally:
        _h.fault_disarm()


def fired():
    """How many faults the last run() made happen (0: the armed read never came)."""
    return _h.fault_disarm()
