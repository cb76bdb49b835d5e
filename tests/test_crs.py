"""CRS spellings found in real CityJSON files."""

import pytest

from citymodel.crs import epsg_to_reference_system, parse_epsg
from citymodel.errors import CRSError


@pytest.mark.parametrize(
    "text, code",
    [
        ("https://www.opengis.net/def/crs/EPSG/0/7415", 7415),
        ("http://www.opengis.net/def/crs/EPSG/0/2056", 2056),
        ("urn:ogc:def:crs:EPSG::7415", 7415),
        ("urn:ogc:def:crs:EPSG:6.3:28992", 28992),
        ("EPSG:32632", 32632),
        ("epsg::31256", 31256),
        ("4326", 4326),
        (3857, 3857),
        (
            "https://www.opengis.net/def/crs-compound?1=https://www.opengis.net/def/crs/EPSG/0/28992"
            "&2=https://www.opengis.net/def/crs/EPSG/0/5709",
            28992,
        ),
    ],
)
def test_parse_epsg(text, code):
    assert parse_epsg(text) == code


def test_empty_and_bad():
    assert parse_epsg(None) is None
    assert parse_epsg("") is None
    with pytest.raises(CRSError, match="--crs"):
        parse_epsg("Amersfoort please", source="x.city.json")


def test_round_trip_spelling():
    assert parse_epsg(epsg_to_reference_system(7415)) == 7415
