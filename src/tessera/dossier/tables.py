"""The dossier table and the tables a dossier is assembled from."""

from __future__ import annotations

DOSSIER = "dossier"

# one row per resolved person; ``body`` is the dossier as zlib-compressed UTF-8 JSON
# (schema in schema.py): DuckDB reads a whole vector of a large-string column to return
# one row (about 57 ms a dossier on the district tier), a compressed blob about 3 ms
COLUMNS: dict[str, str] = {
    DOSSIER: (
        "person VARCHAR PRIMARY KEY, name VARCHAR, exposure DOUBLE, "
        "organisations VARCHAR[], roles VARCHAR[], schema_id VARCHAR, body BLOB"
    ),
}

INPUTS: tuple[str, ...] = (
    "resolution_entity",
    "resolution_record",
    "resolution_pair_person",
    "reg_person",
    "reg_vehicle",
    "link_device",
    "link_device_person",
    "link_second_phone",
    "link_device_swap",
    "link_vehicle",
    "link_vehicle_person",
    "cotravel_pair",
    "life_home_work",
    "life_place",
    "life_routine",
    "life_profile",
    "life_stay",
    "life_anomaly",
    "net_contact",
    "net_meeting",
    "net_meeting_member",
    "net_hidden_tie",
    "net_community",
    "net_centrality",
)
