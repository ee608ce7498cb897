"""Load from several processes at once, for the benchmarks' Python clients (one interpreter is held
to one core by its lock)."""
import multiprocessing
import time


def fan_out(worker, shares, *arguments):
    """Starts one process per share, each calling worker(share, *arguments, start, queue) at the same
    moment, a second from now; returns the summed (done, bad) the workers put on the queue."""
    queue = multiprocessing.Queue()
    start = time.time() + 1
    workers = [multiprocessing.Process(target=worker, args=(share, *arguments, start, queue)) for share in shares]
    for process in workers:
        process.start()
    totals = [queue.get() for _ in workers]
    for process in workers:
        process.join()
    return sum(t[0] for t in totals), sum(t[1] for t in totals)
