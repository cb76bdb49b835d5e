"""Mean radiant temperature of a person from six-direction radiant fluxes (SOLWEIG).

The body is a box that receives short-wave ``K`` and long-wave ``L`` flux densities from up,
down and the four horizontal directions N, E, S, W (Thorsson et al. 2007, Int J Climatol
27:1983-1993; Lindberg et al. 2008, SOLWEIG). The mean radiant flux density absorbed is

    Sstr = absorption_k * sum_i(K_i F_i) + absorption_l * sum_i(L_i F_i)     [W/m2]

with angular factors ``F_i`` (standing: 0.06 up and down, 0.22 each side; sitting: 1/6
each), and

    Tmrt = (Sstr / (absorption_l * sigma)) ** 0.25 - 273.15                  [degC].

The direct solar beam on the body is a separate, named term (:func:`direct_beam_on_body_w_m2`)
added by :func:`tmrt_with_beam_c`: SOLWEIG's cylinder body (``Fcyl * I * cos(elevation)``,
``Fcyl`` 0.28 standing, 0.20 sitting) or Fanger's projected-area factor of a standing person
(``fp * I``, ``fp = 0.308 cos(beta (0.998 - beta^2 / 50000))``, beta the sun elevation in
degrees, as in RayMan and VDI 3787). In that case the side fluxes ``k_side`` must exclude the
direct beam (SOLWEIG's ``cyl = 1``: they hold diffuse and reflected light only).

Differences from UMEP's code, on purpose: ``273.15`` (UMEP ``273.2``), sigma =
5.670374419e-8 (CODATA 2018; UMEP 5.67051e-8), sitting factors exactly 1/6 (UMEP 0.166666).
"""

from __future__ import annotations

import numpy as np

from citymodel.errors import InputError

__all__ = [
    "STEFAN_BOLTZMANN_W_M2K4",
    "ANGULAR_FACTORS",
    "ABSORPTION_K",
    "ABSORPTION_L",
    "mean_radiant_flux_w_m2",
    "tmrt_c",
    "projected_area_factor",
    "direct_beam_on_body_w_m2",
    "tmrt_with_beam_c",
]

#: Stefan-Boltzmann constant [W/m2/K4] (CODATA 2018).
STEFAN_BOLTZMANN_W_M2K4 = 5.670374419e-8

#: Short-wave and long-wave absorption coefficients of the body [-] (SOLWEIG's defaults).
ABSORPTION_K = 0.70
ABSORPTION_L = 0.97

#: Angular factors per posture: ``(f_up_down, f_side, f_cylinder)`` [-]. Up/down factors apply
#: to each of the two vertical directions, the side factor to each of N, E, S, W; the cylinder
#: factor to the direct beam on SOLWEIG's cylindrical body.
ANGULAR_FACTORS = {
    "standing": (0.06, 0.22, 0.28),
    "sitting": (1.0 / 6.0, 1.0 / 6.0, 0.20),
}


def _factors(posture: str) -> tuple[float, float, float]:
    try:
        return ANGULAR_FACTORS[posture]
    except KeyError:
        raise InputError(
            f"posture {posture!r} is unknown: use one of {sorted(ANGULAR_FACTORS)}"
        ) from None


def _side(name: str, value) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0 or arr.shape[0] != 4:
        raise InputError(
            f"{name} must have shape (4, ...) holding the N, E, S, W flux densities [W/m2]; "
            f"got shape {arr.shape}"
        )
    return arr


def mean_radiant_flux_w_m2(
    kdown,
    kup,
    k_side,
    ldown,
    lup,
    l_side,
    absorption_k: float = ABSORPTION_K,
    absorption_l: float = ABSORPTION_L,
    posture: str = "standing",
):
    """Mean radiant flux density absorbed by a person, ``Sstr`` of SOLWEIG.

    Parameters
    ----------
    kdown, kup : float or array_like
        Short-wave flux density from above (incoming on a horizontal surface facing up) and
        from below (reflected by the ground) [W/m2]; shape ``(...)``.
    k_side : array_like
        Short-wave flux density on vertical surfaces facing N, E, S, W [W/m2]; shape
        ``(4, ...)``.
    ldown, lup : float or array_like
        Long-wave flux density from above (sky, canopy, walls) and from below (ground
        emission and reflection) [W/m2]; shape ``(...)``.
    l_side : array_like
        Long-wave flux density on vertical surfaces facing N, E, S, W [W/m2]; ``(4, ...)``.
    absorption_k : float
        Short-wave absorption coefficient of the body [-] (SOLWEIG 0.70).
    absorption_l : float
        Long-wave absorption coefficient (= emissivity) of the body [-] (0.97; UMEP's GUI
        0.95).
    posture : {"standing", "sitting"}
        Selects the angular factors in ``ANGULAR_FACTORS``.

    Returns
    -------
    float or ndarray
        ``Sstr`` [W/m2], the broadcast shape of the inputs without the leading 4.
    """
    f_vert, f_side, _ = _factors(posture)
    k_side_a, l_side_a = _side("k_side", k_side), _side("l_side", l_side)
    short = (np.asarray(kdown, float) + np.asarray(kup, float)) * f_vert + k_side_a.sum(0) * f_side
    long_ = (np.asarray(ldown, float) + np.asarray(lup, float)) * f_vert + l_side_a.sum(0) * f_side
    out = absorption_k * short + absorption_l * long_
    return float(out) if np.ndim(out) == 0 else out


def _tmrt_from_flux(s_str_w_m2, absorption_l: float):
    s = np.asarray(s_str_w_m2, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        t = (s / (absorption_l * STEFAN_BOLTZMANN_W_M2K4)) ** 0.25 - 273.15
    return float(t) if t.ndim == 0 else t


def tmrt_c(
    kdown,
    kup,
    k_side,
    ldown,
    lup,
    l_side,
    absorption_k: float = ABSORPTION_K,
    absorption_l: float = ABSORPTION_L,
    posture: str = "standing",
):
    """Mean radiant temperature from six-direction fluxes, no separate direct beam.

    Parameters are those of :func:`mean_radiant_flux_w_m2`; the side short-wave fluxes carry
    whatever direct sun falls on each vertical face (SOLWEIG's box body, ``cyl = 0``).

    Returns
    -------
    float or ndarray
        Tmrt [degC], shape ``(...)``; NaN where ``Sstr`` is negative or NaN.

    Examples
    --------
    Every direction radiating as a black body at 20 degC gives Tmrt = 20 degC:

    >>> ell = STEFAN_BOLTZMANN_W_M2K4 * 293.15**4
    >>> round(tmrt_c(0.0, 0.0, [0.0] * 4, ell, ell, [ell] * 4), 9)
    20.0
    """
    s = mean_radiant_flux_w_m2(
        kdown, kup, k_side, ldown, lup, l_side, absorption_k, absorption_l, posture
    )
    return _tmrt_from_flux(s, absorption_l)


def projected_area_factor(elevation_deg):
    """Fanger's projected-area factor of a standing person for the sun at ``elevation_deg``.

    ``fp = 0.308 cos(beta (0.998 - beta^2 / 50000))`` with beta in degrees (the cosine's
    argument in degrees), as used by RayMan and VDI 3787; 0.308 at the horizon, about 0.08 at
    the zenith. Negative elevations are treated as 0 (no beam reaches the body anyway).

    Parameters
    ----------
    elevation_deg : float or array_like
        Sun elevation above the horizon [deg].

    Returns
    -------
    float or ndarray
        ``fp`` [-], the shape of ``elevation_deg``.
    """
    beta = np.clip(np.asarray(elevation_deg, dtype=np.float64), 0.0, 90.0)
    fp = 0.308 * np.cos(np.radians(beta * (0.998 - beta**2 / 50000.0)))
    return float(fp) if fp.ndim == 0 else fp


def direct_beam_on_body_w_m2(
    dni_w_m2, elevation_deg, sunlit=1.0, model: str = "cylinder", posture: str = "standing"
):
    """Direct-beam term: beam irradiance on the body per unit of body surface [W/m2].

    This is the ``KsideI * Fcyl`` of SOLWEIG (``model="cylinder"``: ``Fcyl * I * cos(beta)``)
    or Fanger's ``fp * I`` (``model="fanger"``, standing posture only), times ``sunlit``.
    Multiply by ``absorption_k`` and add to ``Sstr`` (:func:`tmrt_with_beam_c` does).

    Parameters
    ----------
    dni_w_m2 : float or array_like
        Direct normal irradiance ``I`` [W/m2].
    elevation_deg : float or array_like
        Sun elevation [deg]; the term is 0 when it is <= 0.
    sunlit : float or array_like
        1 in sun, 0 in shade (buildings), in between under a tree crown (its transmissivity).
    model : {"cylinder", "fanger"}
        Body model of the beam term.
    posture : {"standing", "sitting"}
        Selects ``Fcyl`` for the cylinder model.

    Returns
    -------
    float or ndarray
        Beam flux density on the body [W/m2], the broadcast shape of the inputs.
    """
    elev = np.asarray(elevation_deg, dtype=np.float64)
    dni = np.asarray(dni_w_m2, dtype=np.float64)
    if model == "cylinder":
        _, _, f_cyl = _factors(posture)
        geometric = f_cyl * np.cos(np.radians(np.clip(elev, 0.0, 90.0)))
    elif model == "fanger":
        if posture != "standing":
            raise InputError("the Fanger projected-area factor is for a standing person only")
        geometric = np.asarray(projected_area_factor(elev))
    else:
        raise InputError(f"model {model!r} is unknown: use 'cylinder' or 'fanger'")
    out = np.where(elev > 0.0, geometric * dni * np.asarray(sunlit, dtype=np.float64), 0.0)
    return float(out) if out.ndim == 0 else out


def tmrt_with_beam_c(
    kdown,
    kup,
    k_side,
    ldown,
    lup,
    l_side,
    dni_w_m2,
    elevation_deg,
    sunlit=1.0,
    absorption_k: float = ABSORPTION_K,
    absorption_l: float = ABSORPTION_L,
    posture: str = "standing",
    model: str = "cylinder",
):
    """Mean radiant temperature with the direct beam on the body as its own term.

    ``Sstr = mean_radiant_flux_w_m2(...) + absorption_k * direct_beam_on_body_w_m2(...)``;
    ``k_side`` must then hold only diffuse and reflected short-wave light (no beam).

    Parameters
    ----------
    kdown, kup, k_side, ldown, lup, l_side, absorption_k, absorption_l, posture
        As in :func:`mean_radiant_flux_w_m2`.
    dni_w_m2, elevation_deg, sunlit, model
        As in :func:`direct_beam_on_body_w_m2`.

    Returns
    -------
    float or ndarray
        Tmrt [degC], the broadcast shape ``(...)``.
    """
    s = mean_radiant_flux_w_m2(
        kdown, kup, k_side, ldown, lup, l_side, absorption_k, absorption_l, posture
    )
    beam = direct_beam_on_body_w_m2(dni_w_m2, elevation_deg, sunlit, model, posture)
    return _tmrt_from_flux(np.asarray(s) + absorption_k * np.asarray(beam), absorption_l)
