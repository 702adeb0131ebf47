from __future__ import annotations

import json
import urllib.parse

import pytest
from django.test import override_settings

from baogong.planning.distances import (
    GeoPoint,
    GreatCircleSource,
    MatrixUnavailable,
    OsrmTableSource,
    PrecomputedMatrix,
    TravelMatrix,
    distance_source_from_settings,
    haversine_m,
)

A = GeoPoint(31.0, 121.0)
B = GeoPoint(32.0, 121.0)  # one degree of latitude north of A
C = GeoPoint(31.0, 122.0)


def test_one_degree_of_latitude_is_111_195_metres():
    assert round(haversine_m(A, B)) == 111_195


def test_great_circle_applies_detour_and_speed():
    travel = GreatCircleSource(detour_factor=1.3, speed_kmh=36).matrix([A, B, A])
    # 111 195 m × 1.3 = 144 554 m; at 36 km/h (10 m/s) that is 14 455 s
    assert travel.distance_m == [[0, 144554, 0], [144554, 0, 144554], [0, 144554, 0]]
    assert travel.duration_s == [[0, 14455, 0], [14455, 0, 14455], [0, 14455, 0]]


@pytest.mark.parametrize(("detour", "speed"), [(0.9, 25), (1.3, 0)])
def test_great_circle_refuses_impossible_settings(detour, speed):
    with pytest.raises(ValueError, match="must be"):
        GreatCircleSource(detour_factor=detour, speed_kmh=speed)


def test_precomputed_matrix_returns_itself_for_the_right_number_of_points():
    travel = TravelMatrix(distance_m=[[0, 5], [7, 0]], duration_s=[[0, 1], [2, 0]])
    assert PrecomputedMatrix(travel).matrix([A, B]) is travel
    with pytest.raises(ValueError, match="precomputed matrix has 2 points, the problem has 3"):
        PrecomputedMatrix(travel).matrix([A, B, C])


def test_travel_matrix_must_be_square():
    with pytest.raises(ValueError, match="square"):
        TravelMatrix(distance_m=[[0, 1]], duration_s=[[0]])


class FakeOsrm:
    """Answers /table/v1 like OSRM: distance = 1000 × |i - j| + i, duration = distance / 10, for global point ids."""

    def __init__(self, points, *, unroutable=(), answer=None):
        self.points = points
        self.unroutable = set(unroutable)
        self.answer = answer
        self.urls: list[str] = []

    def __call__(self, url: str, timeout_s: float) -> bytes:
        self.urls.append(url)
        if self.answer is not None:
            return self.answer
        parsed = urllib.parse.urlsplit(url)
        coordinates = parsed.path.split("/")[-1].split(";")
        ids = [self.points.index(GeoPoint(float(c.split(",")[1]), float(c.split(",")[0]))) for c in coordinates]
        query = urllib.parse.parse_qs(parsed.query)
        sources = [ids[int(k)] for k in query["sources"][0].split(";")]
        destinations = [ids[int(k)] for k in query["destinations"][0].split(";")]
        assert query["annotations"] == ["distance,duration"]
        distances = [
            [None if (i, j) in self.unroutable else 1000.0 * abs(i - j) + i * (i != j) for j in destinations]
            for i in sources
        ]
        durations = [[None if d is None else d / 10 for d in row] for row in distances]
        return json.dumps({"code": "Ok", "distances": distances, "durations": durations}).encode()


POINTS = [GeoPoint(31.0 + k / 100, 121.0 + k / 100) for k in range(5)]


def test_osrm_matrix_is_fetched_in_blocks_and_assembled():
    fake = FakeOsrm(POINTS)
    travel = OsrmTableSource(base_url="http://router.example/", max_table_size=4, fetch=fake).matrix(POINTS)
    # Blocks of two points: 3 × 3 requests, each naming only its own coordinates
    assert len(fake.urls) == 9
    assert fake.urls[0] == (
        "http://router.example/table/v1/driving/121.000000,31.000000;121.010000,31.010000"
        "?annotations=distance,duration&sources=0;1&destinations=0;1"
    )
    assert travel.distance_m == [[0 if i == j else 1000 * abs(i - j) + i for j in range(5)] for i in range(5)]
    assert travel.duration_s[3][1] == round(2003 / 10)


def test_osrm_unroutable_pairs_fall_back_to_the_estimate():
    fake = FakeOsrm(POINTS[:2], unroutable={(0, 1)})
    fallback = GreatCircleSource(detour_factor=1.3, speed_kmh=25)
    travel = OsrmTableSource(base_url="http://router.example", fallback=fallback, fetch=fake).matrix(POINTS[:2])
    assert (travel.distance_m[0][1], travel.duration_s[0][1]) == fallback.leg(POINTS[0], POINTS[1])
    assert travel.distance_m[1][0] == 1001


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (b'{"code": "InvalidQuery"}', "router answered 'InvalidQuery'"),
        (b"<html>", "answer is not JSON"),
        (b'{"code": "Ok"}', "missing distances or durations"),
    ],
)
def test_osrm_bad_answers_raise_matrix_unavailable(answer, reason):
    source = OsrmTableSource(base_url="http://router.example", fetch=FakeOsrm(POINTS, answer=answer))
    with pytest.raises(MatrixUnavailable) as caught:
        source.matrix(POINTS[:2])
    assert caught.value.data == {"reason": reason}
    assert caught.value.status == 503


def test_osrm_network_failure_raises_matrix_unavailable():
    def refuse(url: str, timeout_s: float) -> bytes:
        raise ConnectionRefusedError("connection refused")

    with pytest.raises(MatrixUnavailable) as caught:
        OsrmTableSource(base_url="http://router.example", fetch=refuse).matrix(POINTS[:2])
    assert caught.value.data == {"reason": "connection refused"}


def test_settings_choose_the_source():
    with override_settings(ROUTING_OSRM_URL="", ROUTING_DETOUR_FACTOR=1.5, ROUTING_SPEED_KMH=20):
        assert distance_source_from_settings() == GreatCircleSource(detour_factor=1.5, speed_kmh=20)
    with override_settings(ROUTING_OSRM_URL="http://osrm:5000", ROUTING_DETOUR_FACTOR=1.3, ROUTING_SPEED_KMH=25):
        source = distance_source_from_settings()
        assert isinstance(source, OsrmTableSource)
        assert source.base_url == "http://osrm:5000"
