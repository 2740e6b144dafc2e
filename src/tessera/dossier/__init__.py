"""Dossiers: everything the build concluded about one person, with its evidence.

The ``dossiers`` stage assembles a dossier for every resolved person once the other
stages have run (:mod:`tessera.dossier.assemble`) and stores each as JSON in the
``dossier`` table, so reading one is a single keyed lookup. Dossiers follow a versioned
schema (:mod:`tessera.dossier.schema`); they render as HTML that works offline
(:mod:`tessera.dossier.render`) and, with WeasyPrint installed, as PDF.

Reading a dossier or searching (:func:`tessera.dossier.store.read`,
:func:`tessera.dossier.find.find`) needs an :class:`tessera.audit.Access` (user, case,
legal basis) and is written to the audit log.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from tessera.dossier import tables
from tessera.stages import Stage

if TYPE_CHECKING:
    from tessera.engines.base import Engine


def _dossiers(engine: Engine) -> Mapping[str, int]:
    from tessera.dossier.store import write_all

    return write_all(engine)


def _inputs() -> tuple[str, ...]:
    from tessera.exposure import tables as exposure

    return (*tables.INPUTS, *exposure.DOSSIER_TABLES)


STAGE = Stage(
    name="dossiers",
    description="A dossier for every resolved person, from every stage's conclusions.",
    inputs=_inputs(),
    outputs=(tables.DOSSIER,),
    run=_dossiers,
)

__all__ = ["STAGE"]
