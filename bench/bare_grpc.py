"""The floor of one hop, for call_bench.py: a gRPC server over mutual TLS in a process of its
own, as a node is, that answers Exchange.Verify with a fixed verdict and does nothing else (no
interceptors, no checks, no store, no onward call). What a call costs here is what gRPC's Python
server costs before any work of ours: `sync` is the node's model (a thread pool of the node's
size, the node's switch interval), `aio` the asyncio server (grpc.aio, one event loop), to weigh
the one against the other.

    python bench/bare_grpc.py sync|aio CERT KEY CA PORT_FILE
"""

from __future__ import annotations

import asyncio
import pathlib
import sys
from concurrent import futures

import grpc

from node.proto import exchange_pb2
from node.server import WORKERS
from node.workers import tune_threads


def verdict(request) -> exchange_pb2.VerifyClaimsResponse:
    return exchange_pb2.VerifyClaimsResponse(overall="match", results={item: "match" for item in request.claims})


def handlers(verify) -> tuple:
    return (grpc.method_handlers_generic_handler("node.proto.Exchange", {
        "Verify": grpc.unary_unary_rpc_method_handler(
            verify, request_deserializer=exchange_pb2.VerifyClaimsRequest.FromString,
            response_serializer=exchange_pb2.VerifyClaimsResponse.SerializeToString)}),)


def credentials(cert: str, key: str, ca: str) -> grpc.ServerCredentials:
    read = [pathlib.Path(p).read_bytes() for p in (cert, key, ca)]
    return grpc.ssl_server_credentials([(read[1], read[0])], root_certificates=read[2], require_client_auth=True)


def serve_sync(tls: grpc.ServerCredentials, port_file: str) -> None:
    tune_threads()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=WORKERS))
    server.add_generic_rpc_handlers(handlers(lambda request, context: verdict(request)))
    port = server.add_secure_port("127.0.0.1:0", tls)
    server.start()
    pathlib.Path(port_file).write_text(str(port))
    server.wait_for_termination()


async def serve_aio(tls: grpc.ServerCredentials, port_file: str) -> None:
    async def verify(request, context):
        return verdict(request)

    server = grpc.aio.server()
    server.add_generic_rpc_handlers(handlers(verify))
    port = server.add_secure_port("127.0.0.1:0", tls)
    await server.start()
    pathlib.Path(port_file).write_text(str(port))
    await server.wait_for_termination()


def main(model: str, cert: str, key: str, ca: str, port_file: str) -> None:
    tls = credentials(cert, key, ca)
    if model == "aio":
        asyncio.run(serve_aio(tls, port_file))
    else:
        serve_sync(tls, port_file)


if __name__ == "__main__":
    main(*sys.argv[1:6])
