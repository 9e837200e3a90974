"""Accepts TCP connections on PORTS consecutive ports from BASE (all
addresses), reads and discards what arrives, never writes: endpoints that
stall until the scanner's read timeout. Used by bench/run.sh (case order)."""
import asyncio
import sys


async def hold(reader, writer):
    try:
        while await reader.read(4096):
            pass
    except Exception:
        pass
    writer.close()


async def main(base, count):
    servers = [
        await asyncio.start_server(hold, "0.0.0.0", base + i, backlog=4096)
        for i in range(count)
    ]
    await asyncio.gather(*(s.serve_forever() for s in servers))


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))
