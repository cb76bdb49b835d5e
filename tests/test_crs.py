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


def test_transformer_to_raster():
    from pyproj import CRS

    from citymodel.crs import transformer_to_raster
    from citymodel.errors import CRSError

    assert transformer_to_raster(28992, CRS.from_epsg(28992), "o.tif") is None
    assert transformer_to_raster(7415, CRS.from_epsg(28992), "o.tif") is None  # RD + NAP vs RD
    assert transformer_to_raster(None, CRS.from_epsg(4326), "o.tif") is None
    t = transformer_to_raster(32632, CRS.from_epsg(4326), "o.tif")
    lon, lat = t.transform(686_000.0, 4_929_000.0)  # central Bologna in UTM 32N
    assert abs(lon - 11.34) < 0.02 and abs(lat - 44.49) < 0.02
    odd = CRS.from_proj4("+proj=tmerc +lat_0=0 +lon_0=11 +k=0.9996 +x_0=500000 +y_0=0 +ellps=GRS80")
    with pytest.raises(CRSError, match=r"o\.tif.*no EPSG code.*EPSG:32632"):
        transformer_to_raster(32632, odd, "o.tif")
