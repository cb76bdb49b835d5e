"""Hourly heating and cooling demand of every building of a city model.

Public entry points: :func:`energy.demand.simulate.simulate` (a city model and its weather),
:func:`energy.demand.bestest.run_case` (ASHRAE Standard 140 cases through the same engine) and
:mod:`energy.demand.scenarios` (retrofit studies). The thermal model is described in
:mod:`energy.demand.model`.
"""
