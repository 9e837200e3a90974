"""A loopback TCP proxy that adds a round-trip time, for benchmarks on a
machine without netem.

    python3 bench/delay_proxy.py RTT_MS UPSTREAM_HOST FIRST_ADDR COUNT PORT...

Listens on COUNT consecutive addresses from FIRST_ADDR (127.3.0.1,
127.3.0.2, ...) on every PORT, and forwards each connection to
UPSTREAM_HOST on the same port. Every chunk of bytes is delivered RTT/2
after it arrived, in each direction, so a request and its reply cost one
RTT; order is kept. The TCP handshake itself is not delayed (the kernel
completes it before the proxy sees the connection), so each new connection
costs one RTT less than on a real network; bench/run.sh counts the
connections separately. Prints "ready" once every listener is bound.
"""
import asyncio
import ipaddress
import sys


async def pump(reader, writer, delay):
    """Copies reader to writer, each chunk `delay` seconds late."""
    loop = asyncio.get_running_loop()
    queue = asyncio.Queue()

    async def deliver():
        while True:
            due, data = await queue.get()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if data is None:
                try:
                    writer.write_eof()
                except (OSError, RuntimeError):
                    pass
                return
            writer.write(data)
            try:
                await writer.drain()
            except OSError:
                return

    delivery = asyncio.create_task(deliver())
    try:
        while True:
            data = await reader.read(65536)
            queue.put_nowait((loop.time() + delay, data or None))
            if not data:
                break
    except OSError:
        queue.put_nowait((loop.time() + delay, None))
    await delivery


def handler(upstream, port, delay):
    async def handle(reader, writer):
        try:
            up_reader, up_writer = await asyncio.open_connection(upstream, port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(
            pump(reader, up_writer, delay), pump(up_reader, writer, delay)
        )
        for w in (writer, up_writer):
            w.close()

    return handle


async def main():
    rtt_ms, upstream, first, count = sys.argv[1:5]
    ports = [int(p) for p in sys.argv[5:]]
    delay = float(rtt_ms) / 2000.0
    base = ipaddress.ip_address(first)
    servers = []
    for i in range(int(count)):
        addr = str(base + i)
        for port in ports:
            servers.append(
                await asyncio.start_server(
                    handler(upstream, port, delay), addr, port, backlog=1024
                )
            )
    print("ready", flush=True)
    await asyncio.gather(*(s.serve_forever() for s in servers))


if __name__ == "__main__":
    asyncio.run(main())
