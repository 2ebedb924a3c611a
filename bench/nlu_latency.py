"""NLU latency: Rasa's /model/parse, p50/p99 at 10 concurrent (and 1 for reference), against the stack."""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

import aiohttp

from bench.common import header, percentile

TEXTS = ["我家楼上半夜装修吵死了，在南山区粤海街道", "怎么办理居住证", "你好", "帮我转人工", "路灯坏了",
         "社宝断缴了怎么补", "我的工单SZ20261125-000123处理到哪了", "厨房好大煤气味", "今天天气怎么样", "谢谢"]


async def load(url: str, token: str, concurrency: int, total: int) -> tuple[list[float], float]:
    lat: list[float] = []
    sem = asyncio.Semaphore(concurrency)
    async with aiohttp.ClientSession() as http:
        async def one(i: int) -> None:
            async with sem:
                t0 = time.perf_counter()
                async with http.post(f"{url}/model/parse", params={"token": token},
                                     json={"text": TEXTS[i % len(TEXTS)]}) as r:
                    await r.read()
                    if r.status == 200:
                        lat.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        await asyncio.gather(*[one(i) for i in range(total)])
        return lat, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rasa", required=True)
    ap.add_argument("--rasa-token", required=True)
    ap.add_argument("--total", type=int, default=400)
    ap.add_argument("--out", default="bench/results/nlu_latency.md")
    a = ap.parse_args()
    lines = [header("NLU latency (Rasa /model/parse)"), "| concurrent | requests ok | req/s | p50 ms | p99 ms |",
             "| --- | --- | --- | --- | --- |"]
    for conc in (1, 10):
        lat, wall = asyncio.run(load(a.rasa, a.rasa_token, conc, a.total if conc > 1 else a.total // 4))
        lines.append(f"| {conc} | {len(lat)} | {len(lat) / wall:.1f} | {percentile(lat, 50):.1f} | "
                     f"{percentile(lat, 99):.1f} |")
    text = "\n".join(lines) + "\n"
    Path(a.out).write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
