"""The gRPC edge: servicers that decode a request, call the domain and encode the answer;
serde, the one place where protobuf messages and domain objects meet; domain errors mapped to
status codes in one place.

May import: everything in node/ except cli; nothing imports node.api but node.server,
node.hub (serde) and the clients (cli, harness).
"""
