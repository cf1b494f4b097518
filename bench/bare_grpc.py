"""The floor of one hop, for call_bench.py: a gRPC server over mutual TLS in a process of its
own, as a node is, with the node's thread pool and switch interval, that answers Exchange.Verify
with a fixed verdict and does nothing else (no interceptors, no checks, no store, no onward call).
What a call costs here is what gRPC's synchronous Python server costs before any work of ours.

    python bench/bare_grpc.py CERT KEY CA PORT_FILE
"""

from __future__ import annotations

import pathlib
import sys
from concurrent import futures

import grpc

from node.proto import exchange_pb2
from node.server import WORKERS
from node.workers import tune_threads


def verify(request, context):
    return exchange_pb2.VerifyClaimsResponse(overall="match", results={item: "match" for item in request.claims})


def main(cert: str, key: str, ca: str, port_file: str) -> None:
    tune_threads()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=WORKERS))
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("node.proto.Exchange", {
        "Verify": grpc.unary_unary_rpc_method_handler(
            verify, request_deserializer=exchange_pb2.VerifyClaimsRequest.FromString,
            response_serializer=exchange_pb2.VerifyClaimsResponse.SerializeToString)}),))
    read = [pathlib.Path(p).read_bytes() for p in (cert, key, ca)]
    port = server.add_secure_port("127.0.0.1:0", grpc.ssl_server_credentials(
        [(read[1], read[0])], root_certificates=read[2], require_client_auth=True))
    server.start()
    pathlib.Path(port_file).write_text(str(port))
    server.wait_for_termination()


if __name__ == "__main__":
    main(*sys.argv[1:5])
