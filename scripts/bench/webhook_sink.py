"""A webhook receiver for the benchmark: answers 204 at once and records, per delivery, the event
id from the body and when it arrived. It checks nothing (the tests check signatures).

  webhook_sink.py RECORD_FILE

Prints its port on the first line. Records are "<arrival unix time> <eventId>" lines, flushed each
second, so a reader sees them within about a second.
"""
import asyncio
import re
import sys
import time

record_path = sys.argv[1]
pending = []
EVENT = re.compile(rb'"eventId":"([0-9a-f-]+)"')


async def handle(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            body = await reader.readexactly(length)
            match = EVENT.search(body)
            pending.append(f"{time.time():.6f} {match.group(1).decode() if match else '-'}\n")
            writer.write(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def flush():
    with open(record_path, "a") as out:
        while True:
            await asyncio.sleep(1)
            if pending:
                lines = pending[:]
                del pending[: len(lines)]
                out.write("".join(lines))
                out.flush()


async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
    print(server.sockets[0].getsockname()[1], flush=True)
    asyncio.get_running_loop().create_task(flush())
    async with server:
        await server.serve_forever()


asyncio.run(main())
