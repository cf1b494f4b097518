"""The portal: a web application in front of a node (normally the hub), a gRPC client like any
other that holds no data of its own. Server-rendered Chinese pages (search, entry, requests,
dashboard) and the open-data API (a read-only CKAN Action API subset and a DCAT-AP catalog of
the entries whose open_type is open).

client (the node over gRPC) -> views (pages, requests, dashboard, opendata: Starlette routes)
-> templates/ (Jinja2); ckan and dcat are pure functions from an entry to CKAN dicts and RDF.

May import: node.proto, node.security (client, tls, pki), node.model.regions; never the
store or the domain packages: everything it shows comes from a node's API.
"""
