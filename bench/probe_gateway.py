"""The gateway as a separate process, with the probe on its playbook runtime:

    python -m bench.probe_gateway --data-dir DIR [--runtime 'playbook?think_ms=200']

It prints `teammesh gateway listening on http://HOST:PORT` like `teammesh serve`, then reads
commands on stdin, one per line: `dump` answers one JSON line with the probe's samples since
the last dump; `quit` (or end of input) stops it. A separate process, so the gateway's memory
is its own and the client does not share its interpreter lock.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from teammesh.gateway.embedded import start_gateway
from teammesh.gateway.runtimes import registry
from teammesh.gateway.runtimes.registry import RuntimeSettings


async def serve(data_dir: Path, runtime: str) -> None:
    from bench.probe_runtime import PROBE

    registry.RUNTIME_MODULES["playbook"] = "bench.probe_runtime"
    settings = RuntimeSettings(data_dir=data_dir)
    async with start_gateway(data_dir=data_dir, runtime=runtime, settings=settings) as gateway:
        print(f"teammesh gateway listening on {gateway.base_url}", flush=True)
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while line := await reader.readline():
            command = line.decode().strip()
            if command == "dump":
                print(json.dumps(PROBE.dump()), flush=True)
            elif command == "quit":
                break


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.probe_gateway")
    parser.add_argument("--data-dir", required=True, type=Path)
    parser.add_argument("--runtime", default="playbook")
    args = parser.parse_args()
    asyncio.run(serve(args.data_dir, args.runtime))


if __name__ == "__main__":
    main()
