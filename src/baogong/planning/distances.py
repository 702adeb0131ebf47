"""Travel distance and duration matrices for the router.

The default source is great-circle distance stretched by a detour factor and
driven at an average speed: no external service, good enough to rank routes
inside a district. When a road router is configured (an OSRM server), its
`/table/v1` service gives real road distances and asymmetric times. Every
source returns whole metres and whole seconds, which is what the solver works
in.
"""

from __future__ import annotations

import json
import logging
import math
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from baogong.core.errors import ApplicationError

logger = logging.getLogger(__name__)

EARTH_RADIUS_M = 6_371_008.8
DEFAULT_DETOUR_FACTOR = 1.3
DEFAULT_SPEED_KMH = 25.0
# OSRM's own default for --max-table-size; larger matrices are fetched in blocks.
DEFAULT_OSRM_TABLE_SIZE = 100


class MatrixUnavailable(ApplicationError):
    """The configured road router did not answer with a usable matrix."""

    status = 503
    code = "routing_matrix_unavailable"
    default_message = _("The road distance service is unavailable.")


@dataclass(frozen=True, slots=True)
class GeoPoint:
    lat: float
    lon: float


@dataclass(frozen=True, slots=True)
class TravelMatrix:
    """Square matrices indexed like the points they were built from: metres and seconds."""

    distance_m: list[list[int]]
    duration_s: list[list[int]]

    def __post_init__(self) -> None:
        size = len(self.distance_m)
        if len(self.duration_s) != size or any(len(row) != size for row in (*self.distance_m, *self.duration_s)):
            raise ValueError("distance and duration matrices must be square and of the same size")

    @property
    def size(self) -> int:
        return len(self.distance_m)


class DistanceSource(Protocol):
    def matrix(self, points: Sequence[GeoPoint]) -> TravelMatrix: ...


def haversine_m(a: GeoPoint, b: GeoPoint) -> float:
    lat1, lat2 = math.radians(a.lat), math.radians(b.lat)
    dlat = lat2 - lat1
    dlon = math.radians(b.lon - a.lon)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


@dataclass(frozen=True, slots=True)
class GreatCircleSource:
    """Great-circle metres × detour factor, at a constant average speed."""

    detour_factor: float = DEFAULT_DETOUR_FACTOR
    speed_kmh: float = DEFAULT_SPEED_KMH

    def __post_init__(self) -> None:
        if self.detour_factor < 1:
            raise ValueError("detour_factor must be at least 1")
        if self.speed_kmh <= 0:
            raise ValueError("speed_kmh must be positive")

    def leg(self, a: GeoPoint, b: GeoPoint) -> tuple[int, int]:
        metres = haversine_m(a, b) * self.detour_factor
        return round(metres), round(metres / (self.speed_kmh / 3.6))

    def matrix(self, points: Sequence[GeoPoint]) -> TravelMatrix:
        size = len(points)
        distance = [[0] * size for _ in range(size)]
        duration = [[0] * size for _ in range(size)]
        for i in range(size):
            for j in range(i + 1, size):
                metres, seconds = self.leg(points[i], points[j])
                distance[i][j] = distance[j][i] = metres
                duration[i][j] = duration[j][i] = seconds
        return TravelMatrix(distance_m=distance, duration_s=duration)


@dataclass(frozen=True, slots=True)
class PrecomputedMatrix:
    """A matrix computed elsewhere (a recorded day, a benchmark instance); the points are only counted."""

    travel: TravelMatrix

    def matrix(self, points: Sequence[GeoPoint]) -> TravelMatrix:
        if len(points) != self.travel.size:
            raise ValueError(f"precomputed matrix has {self.travel.size} points, the problem has {len(points)}")
        return self.travel


Fetch = Callable[[str, float], bytes]


def http_get(url: str, timeout_s: float) -> bytes:
    # The URL comes from settings (an operator-configured router), never from users.
    with urllib.request.urlopen(url, timeout=timeout_s) as response:  # noqa: S310
        body: bytes = response.read()
        return body


@dataclass(frozen=True, slots=True)
class OsrmTableSource:
    """OSRM `/table/v1` client.

    A server answers at most `max_table_size` sources × destinations per call,
    so a large matrix is fetched in square blocks; each request carries only the
    coordinates of its block. Pairs OSRM cannot route (null entries, e.g. a gate
    on an island of the road graph) fall back to the great-circle estimate so
    one bad coordinate does not sink the whole plan; they are logged.
    """

    base_url: str
    profile: str = "driving"
    timeout_s: float = 30.0
    max_table_size: int = DEFAULT_OSRM_TABLE_SIZE
    fallback: GreatCircleSource = GreatCircleSource()
    fetch: Fetch = http_get

    def matrix(self, points: Sequence[GeoPoint]) -> TravelMatrix:
        size = len(points)
        distance = [[0] * size for _ in range(size)]
        duration = [[0] * size for _ in range(size)]
        block = max(1, self.max_table_size // 2)
        blocks = [list(range(start, min(start + block, size))) for start in range(0, size, block)]
        for sources in blocks:
            for destinations in blocks:
                self._fill_block(points, sources, destinations, distance, duration)
        return TravelMatrix(distance_m=distance, duration_s=duration)

    def _fill_block(
        self,
        points: Sequence[GeoPoint],
        sources: list[int],
        destinations: list[int],
        distance: list[list[int]],
        duration: list[list[int]],
    ) -> None:
        indices = sorted(set(sources) | set(destinations))
        position = {index: pos for pos, index in enumerate(indices)}
        coordinates = ";".join(f"{points[i].lon:.6f},{points[i].lat:.6f}" for i in indices)
        query = urllib.parse.urlencode(
            {
                "annotations": "distance,duration",
                "sources": ";".join(str(position[i]) for i in sources),
                "destinations": ";".join(str(position[j]) for j in destinations),
            },
            safe=";,",
        )
        url = f"{self.base_url.rstrip('/')}/table/v1/{self.profile}/{coordinates}?{query}"
        body = self._answer(url)
        distances = body.get("distances")
        durations = body.get("durations")
        if not isinstance(distances, list) or not isinstance(durations, list):
            raise MatrixUnavailable(data={"reason": "missing distances or durations"})
        for row, i in enumerate(sources):
            for col, j in enumerate(destinations):
                metres = distances[row][col]
                seconds = durations[row][col]
                if i == j:
                    continue
                if metres is None or seconds is None:
                    logger.warning("road router has no route between points %s and %s; using the estimate", i, j)
                    metres, seconds = self.fallback.leg(points[i], points[j])
                distance[i][j] = round(metres)
                duration[i][j] = round(seconds)

    def _answer(self, url: str) -> dict[str, Any]:
        try:
            raw = self.fetch(url, self.timeout_s)
        except OSError as exc:
            raise MatrixUnavailable(data={"reason": str(exc)}) from exc
        try:
            body = json.loads(raw)
        except ValueError as exc:
            raise MatrixUnavailable(data={"reason": "answer is not JSON"}) from exc
        if not isinstance(body, dict) or body.get("code") != "Ok":
            code = body.get("code") if isinstance(body, dict) else None
            raise MatrixUnavailable(data={"reason": f"router answered {code!r}"})
        return body


def distance_source_from_settings() -> DistanceSource:
    """The road router when `ROUTING_OSRM_URL` is set, else great circle with the configured detour and speed."""
    fallback = GreatCircleSource(
        detour_factor=float(getattr(settings, "ROUTING_DETOUR_FACTOR", DEFAULT_DETOUR_FACTOR)),
        speed_kmh=float(getattr(settings, "ROUTING_SPEED_KMH", DEFAULT_SPEED_KMH)),
    )
    url = str(getattr(settings, "ROUTING_OSRM_URL", "") or "")
    if url:
        return OsrmTableSource(base_url=url, fallback=fallback)
    return fallback
