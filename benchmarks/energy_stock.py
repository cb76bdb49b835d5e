"""Delft demand per m2 by construction period beside the TABULA NL typology.

Runs :func:`energy.demand.simulate.simulate` on the 3DBAG tile of Delft-west in the shared data
(``cityjson_samples/3dbag_v210908_tile901_trimmed.city.jsonl``, 52 buildings) with the shipped
NL archetypes chosen from the 3DBAG year attribute (``oorspronkelijkbouwjaar``), groups the
heating demand by construction period (sum of demand / sum of floor area, and the median
building) and prints it next to the TABULA NL building types of the same periods.

There is no Dutch weather file in the shared data. The script runs every EPW it finds there and
prints each file's heating degree days (base 18 degC) and mean temperature, so the climate
mismatch is visible in the table; ``--markdown`` writes the table into docs/benchmarks.md
(this script's own section, replaced on each run).

Usage::

    .venv/bin/python benchmarks/energy_stock.py [--data ../shared/data] [--markdown]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SECTION = "## Delft demand by construction period: `benchmarks/energy_stock.py`"
TILE = ("cityjson_samples", "3dbag_v210908_tile901_trimmed.city.jsonl")

#: TABULA NL construction year classes and the existing-state U-values (wall, roof, floor,
#: window [W/m2K]) of their terraced house (NL.N.TH.<class>.Gen.ReEx.001.001), as extracted from
#: the TABULA data by THD-Spatial-AI/buem (src/buem/data/buildings/netherlands/Heeten/
#: u_value_reference.csv). The floor value is the construction's U without TABULA's reduction
#: factor for the crawl space.
TABULA_NL_TH = [
    ("NL.01", 0, 1964, (5.263, 4.545, 6.667, 5.2)),
    ("NL.02", 1965, 1974, (2.326, 1.163, 5.882, 5.2)),
    ("NL.03", 1975, 1991, (0.769, 0.769, 1.923, 5.2)),
    ("NL.04", 1992, 2005, (0.395, 0.395, 0.395, 2.9)),
    ("NL.05", 2006, 2014, (0.286, 0.250, 0.286, 1.8)),
    ("NL.06", 2015, 2100, (0.222, 0.167, 0.286, 1.8)),
]


def degree_days(t_air_c: np.ndarray, base_c: float = 18.0) -> float:
    """Heating degree days [K d] from hourly air temperatures."""
    daily = np.asarray(t_air_c, float)[: len(t_air_c) // 24 * 24].reshape(-1, 24).mean(axis=1)
    return float(np.maximum(base_c - daily, 0.0).sum())


def run(data: Path, epw: Path) -> tuple[pd.DataFrame, dict]:
    """Simulate the tile on ``epw``; per-building table with the year and period."""
    from citymodel.io.cityjson import read
    from energy.demand.simulate import simulate
    from energy.weather import read_epw

    model = read(data.joinpath(*TILE))
    wx = read_epw(epw)
    t0 = time.perf_counter()
    r = simulate(model, wx, archetypes="NL", max_site_distance_km=None, free_running_twin=False)
    secs = time.perf_counter() - t0
    t = r.table.copy()
    years = pd.to_numeric(pd.Series({b: (model.city_objects[b].get("attributes") or {}).get("oorspronkelijkbouwjaar")
                                     for b in t.index}), errors="coerce")
    t["year"] = years.reindex(t.index).to_numpy()
    t["period"] = None
    for code, y0, y1, _ in TABULA_NL_TH:
        t.loc[(t["year"] >= y0) & (t["year"] <= y1), "period"] = code
    info = {"seconds": secs, "n_model": len(model.building_ids()), "n_simulated": len(t), "skipped": len(r.skipped),
            "hdd18": degree_days(wx[0]["t_air_c"].to_numpy()), "t_mean_c": float(wx[0]["t_air_c"].mean()),
            "site": wx[1].get("city") or epw.stem}
    return t, info


def table(t: pd.DataFrame) -> pd.DataFrame:
    """Heating demand by TABULA NL period: buildings, floor area, kWh/m2a (sum and median)."""
    rows = []
    for code, y0, y1, u in TABULA_NL_TH:
        g = t[t["period"] == code]
        area = float(g["floor_area_m2"].sum())
        rows.append({"period": f"{code} {y0 or '..'}-{y1 if y1 < 2100 else ''}", "buildings": len(g),
                     "floor_m2": area,
                     "heating_kwh_m2": float(g["heating_demand_kwh"].sum() / area) if area else np.nan,
                     "median_kwh_m2": float(g["heating_demand_kwh_m2"].median()) if len(g) else np.nan,
                     "archetypes": ", ".join(sorted(set(g["archetype_id"].astype(str)))),
                     "tabula_u": "/".join(f"{x:g}" for x in u)})
    return pd.DataFrame(rows)


def markdown(results: list[tuple[str, dict, pd.DataFrame]], load: str) -> str:
    lines = [SECTION, "",
             "`.venv/bin/python benchmarks/energy_stock.py --markdown`: the 3DBAG tile of Delft-west "
             "(52 buildings; years from `oorspronkelijkbouwjaar`, shipped NL archetypes), heating demand "
             f"[kWh per m2 of floor per year] by TABULA NL construction period; load {load}.", ""]
    for name, info, tb in results:
        lines += [f"Weather `{name}` ({info['site']}): HDD18 {info['hdd18']:.0f} K d, mean {info['t_mean_c']:.1f} degC; "
                  f"{info['n_simulated']} of {info['n_model']} buildings simulated ({info['skipped']} skipped), "
                  f"{info['seconds']:.1f} s.", "",
                  "| TABULA NL period | buildings | floor m2 | heating kWh/m2a (sum) | median building | our archetypes | "
                  "TABULA TH U wall/roof/floor/window W/m2K |",
                  "|---|---|---|---|---|---|---|"]
        for r in tb.itertuples():
            lines.append(f"| {r.period} | {r.buildings} | {r.floor_m2:.0f} | "
                         + (f"{r.heating_kwh_m2:.0f} | {r.median_kwh_m2:.0f}" if r.buildings else "- | -")
                         + f" | {r.archetypes or '-'} | {r.tabula_u} |")
        lines.append("")
    lines += ["Climate mismatch: the shared data has no Dutch weather (Delft: De Bilt climate, milder winters "
              "and far less sun than Denver, colder than Turin), so these figures are not Delft's demand; they "
              "show the ordering by period and the size of the archetype effect. TABULA's published energy need "
              "for heating (q_h_nd) of the NL types could not be read from the sources reachable here (the TABULA "
              "webtool and the NL brochure are not stored; the TABULA calculator copy in FZJ-IEK3-VSA/HiSim "
              "holds no NL rows), so the U-values of the TABULA terraced house of each period stand in for the "
              "published figures (source in the script). Our NL table splits TABULA's class ..1964 at 1945 "
              "(both rows are NL.01); docs/energy_archetypes.md compares its U-values with TABULA's.", ""]
    return "\n".join(lines)


def write_section(text: str) -> None:
    p = ROOT / "docs" / "benchmarks.md"
    s = p.read_text(encoding="utf-8")
    if SECTION in s:
        head, rest = s.split(SECTION, 1)
        nxt = rest.find("\n## ")
        s = head + text + (rest[nxt + 1:] if nxt >= 0 else "")
    else:
        s = s.rstrip("\n") + "\n\n" + text
    tmp = p.with_suffix(".md.tmp")
    tmp.write_text(s, encoding="utf-8")
    tmp.replace(p)


def main(argv: list[str] | None = None) -> int:
    import os

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--markdown", action="store_true", help="Write the table into docs/benchmarks.md.")
    a = ap.parse_args(argv)
    data = Path(a.data)
    results = []
    for epw in sorted((data / "weather").glob("*.epw")):
        t, info = run(data, epw)
        tb = table(t)
        results.append((epw.name, info, tb))
        print(f"\n{epw.name}: HDD18 {info['hdd18']:.0f} K d, mean {info['t_mean_c']:.1f} C, "
              f"{info['n_simulated']}/{info['n_model']} buildings, {info['seconds']:.1f} s")
        print(tb.to_string(index=False, float_format=lambda x: f"{x:.0f}"))
    load = "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    if a.markdown:
        write_section(markdown(results, load))
        print("\nwrote", SECTION)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
