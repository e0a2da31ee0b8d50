"""A tiny FastAPI backend for the gateway tests, run under uvicorn: /healthz, two API routes and /metrics.

Debian 12 has no prometheus-fastapi-instrumentator, so a small middleware records what its default metrics do
(prometheus_fastapi_instrumentator/metrics.py `default()`): http_requests_total{handler,method,status} with the
status grouped as "2xx" and the route template as handler ("none" when no route matched), and
http_request_duration_seconds{handler,method} with buckets 0.1, 0.5, 1. /metrics is python3-prometheus-client's
ASGI app (make_asgi_app) mounted on the FastAPI app.

Run: /usr/bin/python3 -m uvicorn backend_app:app --app-dir tests/apps --host 127.0.0.1 --port PORT
"""
import asyncio
import time

from fastapi import FastAPI, HTTPException
from prometheus_client import Counter, Histogram, make_asgi_app
from starlette.routing import Match

app = FastAPI()

REQUESTS = Counter("http_requests_total", "Total number of requests by method, status and handler.",
                   ("method", "status", "handler"))
LATENCY = Histogram("http_request_duration_seconds", "Latency with only few buckets by handler. Made to be only "
                    "used if aggregation by handler is important.", ("handler", "method"), buckets=(0.1, 0.5, 1))


@app.middleware("http")
async def instrument(request, call_next):
    handler = "none"
    for route in request.app.routes:
        match, _ = route.matches(request.scope)
        if match == Match.FULL:
            handler = route.path
            break
    start = time.perf_counter()
    response = await call_next(request)
    # Recorded after the handler ran: a /metrics page does not count the request that fetches it.
    REQUESTS.labels(request.method, f"{response.status_code // 100}xx", handler).inc()
    LATENCY.labels(handler, request.method).observe(time.perf_counter() - start)
    return response


@app.get("/healthz")
async def healthz():
    return {"status": "ok"}


@app.get("/items/{item_id}")
async def item(item_id: int):
    if item_id == 0:
        raise HTTPException(status_code=404, detail="no item 0")
    return {"id": item_id}


@app.get("/slow")
async def slow(ms: int = 100):
    await asyncio.sleep(ms / 1000)
    return {"slept_ms": ms}


app.mount("/metrics", make_asgi_app())
