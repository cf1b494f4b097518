"""The portal: a web application in front of a node (normally the hub), a gRPC client like any
other that holds no data of its own. Server-rendered Chinese pages (search, entry, requests,
dashboard) and the open-data API (a read-only CKAN Action API subset and a DCAT-AP catalog of
the entries whose open_type is open).

client (the node over gRPC) -> the parts read through it (scorecard, status, open_catalog,
paging) -> site (the Portal holding them, made once by app.create_app) -> views (pages, sharing,
dashboard, opendata: each declares its Starlette routes; app assembles them) -> templates/
(Jinja2); ckan and dcat are pure functions from an entry to CKAN dicts and RDF.

May import: node.proto, node.security (client, tls, pki), node.model.regions; never the
store or the domain packages: everything it shows comes from a node's API.
"""
