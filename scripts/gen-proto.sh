#!/usr/bin/env bash
# Regenerates proto/gen from proto/fleet/v1 with protoc (Debian protobuf-compiler)
# and ts-proto. The output is committed, so building needs neither.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf proto/gen && mkdir -p proto/gen
protoc --plugin=protoc-gen-ts_proto=node_modules/.bin/protoc-gen-ts_proto \
  --ts_proto_out=proto/gen \
  --ts_proto_opt=outputServices=grpc-js,esModuleInterop=true,env=node,forceLong=number,oneof=unions,useOptionals=none,outputJsonMethods=false,outputPartialMethods=true \
  -I proto proto/fleet/v1/*.proto
